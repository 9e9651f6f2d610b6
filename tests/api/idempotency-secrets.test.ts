import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

/** What the replay table keeps of a response that carries a secret. */
describe('idempotent replays of secrets', () => {
  let panel: TestPanel;
  beforeAll(async () => {
    panel = await startTestPanel();
  });
  afterAll(async () => panel.close());

  /** Every byte SQLite wrote for the database, the write-ahead log included. */
  const databaseBytes = () => Buffer.concat(fs.readdirSync(panel.dataDir).filter((f) => f.startsWith('kura.db'))
    .map((f) => fs.readFileSync(path.join(panel.dataDir, f))));

  it('replays a new token with the same value, and the database file holds no trace of it', async () => {
    const customer = (await panel.api('POST', '/customers', { name: 'C', email: 'idem@example.com' })).body;
    const headers = { 'idempotency-key': 'token-order-1' };
    const first = await panel.api('POST', `/customers/${customer.id}/tokens`, { name: 'billing' }, { headers });
    expect(first.status).toBe(201);
    const token = first.body.token as string;
    expect(token).toMatch(/^kura_/);
    const again = await panel.api('POST', `/customers/${customer.id}/tokens`, { name: 'billing' }, { headers });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toEqual(first.body);

    const bytes = databaseBytes();
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(token)).toBe(false);
    // Nor a recognisable piece of it (an encoding that kept a part readable would show here).
    expect(bytes.includes(token.slice(5, 25))).toBe(false);
  });
});
