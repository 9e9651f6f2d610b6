import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/** A token's last use is recorded when it is used, at most once a minute, and shown where tokens are listed (API and panel). */
describe('lastUsedAt of API tokens', () => {
  let panel: TestPanel;
  let customerId: string;
  let token: string;
  beforeAll(async () => {
    panel = await startTestPanel();
    customerId = (await panel.api('POST', '/customers', { name: 'C', email: 'used@example.com' })).body.id;
    token = (await panel.api('POST', `/customers/${customerId}/tokens`, { name: 'billing' })).body.token;
  });
  afterAll(async () => {
    vi.useRealTimers();
    await panel.close();
  });

  const listed = async () => (await panel.api('GET', `/customers/${customerId}/tokens`)).body.items[0].lastUsedAt as string | null;

  it('is null until the token is used, then set by its first request', async () => {
    expect(await listed()).toBeNull();
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T10:00:00Z') });
    expect((await panel.api('GET', '/environments', undefined, { token })).status).toBe(200);
    expect(await listed()).toBe('2026-01-01T10:00:00.000Z');
  });

  it('is written at most once a minute, not once per request', async () => {
    vi.setSystemTime(new Date('2026-01-01T10:00:30Z'));
    await panel.api('GET', '/environments', undefined, { token });
    expect(await listed()).toBe('2026-01-01T10:00:00.000Z');
    vi.setSystemTime(new Date('2026-01-01T10:01:01Z'));
    await panel.api('GET', '/environments', undefined, { token });
    expect(await listed()).toBe('2026-01-01T10:01:01.000Z');
  });

  it('shows on the customer panel\'s account page', async () => {
    vi.useRealTimers();
    await panel.api('PATCH', `/customers/${customerId}`, { password: 'correct horse battery' });
    const web = new WebClient(panel);
    expect((await web.login('used@example.com', 'correct horse battery')).statusCode).toBe(303);
    const page = await web.page('/panel/account');
    expect(page.body).toMatch(/data-label="Last used">2026-01-01 10:01 UTC</);
  });
});
