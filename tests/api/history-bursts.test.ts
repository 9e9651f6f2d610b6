import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyContainerEvent } from '../../server/loops/live-state.js';
import { HISTORY_CAP } from '../../server/db/repos/environment-history.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/** An OOM or crash loop must not fill the database with one history row per event. */
describe('history under a burst of events', () => {
  let fleet: FakeFleet;
  let nodeId: string;
  let envId: string;
  let containerId: string;
  beforeAll(async () => {
    fleet = await startFakeFleet();
    nodeId = fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    const planId = await fleet.plan('p', 0.5, 256);
    const customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'oom@example.com', password: 'correct horse battery' })).body.id;
    const res = await fleet.panel.api('POST', '/environments', { name: 'a', templateId: 'web', planId, customerId });
    await waitOperation(fleet.panel, res.body.operation.id);
    envId = res.body.environment.id;
    containerId = fleet.panel.ctx.repos.environments.get(envId)!.containerId!;
  });
  afterAll(async () => fleet.close());

  const rows = () => (fleet.panel.ctx.repos.db.prepare('SELECT COUNT(*) AS n FROM environment_events WHERE environment_id = ?')
    .get(envId) as { n: number }).n;
  const event = (action: string, at: number, exitCode: number | null = null) => applyContainerEvent(fleet.panel.ctx, nodeId,
    { action, containerId, labels: { 'io.kura.environment': envId }, exitCode, detail: null, time: Math.floor(at / 1000), timeNano: at * 1e6 });

  it('counts 2000 OOM kills a few milliseconds apart on one row', async () => {
    const before = rows();
    const start = Date.parse('2026-03-01T10:00:00Z');
    for (let i = 0; i < 2000; i++) await event('oom', start + i * 5);
    expect(rows()).toBe(before + 1);
    const [latest] = (await fleet.panel.api('GET', `/environments/${envId}/events?limit=1`)).body.items;
    expect(latest).toMatchObject({ kind: 'oom', count: 2000, at: '2026-03-01T10:00:00.000Z', lastAt: '2026-03-01T10:00:09.995Z' });
  });

  it('counts a crash loop (oom, died, started) on one row per kind', async () => {
    const before = rows();
    const start = Date.parse('2026-03-02T10:00:00Z');
    for (let i = 0; i < 1000; i++) {
      await event('oom', start + i * 300);
      await event('die', start + i * 300 + 100, 137);
      await event('start', start + i * 300 + 200);
    }
    expect(rows()).toBe(before + 3);
    const items = (await fleet.panel.api('GET', `/environments/${envId}/events?limit=3`)).body.items;
    expect(items.map((e: { kind: string; count: number }) => [e.kind, e.count])).toEqual([['started', 1000], ['died', 1000], ['oom', 1000]]);
  });

  it('keeps at most the newest rows per environment when events are far apart', async () => {
    const start = Date.parse('2026-04-01T00:00:00Z');
    for (let i = 0; i < HISTORY_CAP + 200; i++) await event('oom', start + i * 11 * 60_000);
    expect(rows()).toBe(HISTORY_CAP);
    const [latest] = (await fleet.panel.api('GET', `/environments/${envId}/events?limit=1`)).body.items;
    expect(latest.at).toBe(new Date(start + (HISTORY_CAP + 199) * 11 * 60_000).toISOString());
  });

  it('shows a repeat count on the environment page', async () => {
    const start = Date.parse('2026-06-01T00:00:00Z');
    for (let i = 0; i < 3; i++) await event('oom', start + i * 1000);
    const web = new WebClient(fleet.panel);
    await web.login('oom@example.com', 'correct horse battery');
    const page = await web.page(`/panel/environments/${envId}`);
    expect(page.body).toContain('(×3, last 2026-06-01 00:00 UTC)');
  });
});
