import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NodeCallError } from '../../server/lib/errors.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation } from '../helpers/panel.js';

/**
 * The database failing in the middle of an operation (a full disk, an I/O error: made real
 * here with SQLite triggers that abort the write) must never end the process with an
 * unhandled rejection. The operation ends recorded, or stays open for the next start.
 */
describe('the operation runner when the database fails', () => {
  let fleet: FakeFleet;
  let planId: string;
  let customerId: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(() => void process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));
  beforeEach(async () => {
    unhandled.length = 0;
    fleet = await startFakeFleet();
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    planId = await fleet.plan('p', 0.5, 256);
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
  });
  afterEach(async () => {
    // Let any rejection left behind surface before the check.
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    await fleet.close();
  });

  const db = () => fleet.panel.ctx.repos.db;
  const failWrites = (name: string, table: string, when: string) =>
    db().exec(`CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
  const create = async () => {
    const res = await fleet.panel.api('POST', '/environments', { name: 'a', templateId: 'web', planId, customerId });
    expect(res.status).toBe(202);
    return { envId: res.body.environment.id as string, opId: res.body.operation.id as string };
  };
  const statusOf = (opId: string) => fleet.panel.ctx.repos.operations.view(opId)?.status;

  it('progress that cannot be written does not stop the work', async () => {
    failWrites('no_progress', 'operations', "NEW.status = 'running' AND OLD.status = 'running' AND NEW.progress <> OLD.progress");
    const { opId } = await create();
    await expect.poll(() => statusOf(opId)).toBe('succeeded');
  });

  it('an outcome that cannot be written at first is written once the database answers again', async () => {
    const { opId: first } = await create();
    await waitOperation(fleet.panel, first);
    failWrites('no_outcome', 'operations', "NEW.status IN ('succeeded', 'failed')");
    const envId = fleet.panel.ctx.repos.operations.view(first)!.resource.id;
    const res = await fleet.panel.api('POST', `/environments/${envId}/actions`, { action: 'restart' });
    expect(res.status).toBe(202);
    const opId = res.body.operation.id as string;
    await expect.poll(() => fleet.fakes.node('n1').calls.includes('restart')).toBe(true);
    expect(statusOf(opId)).toBe('running');
    db().exec('DROP TRIGGER no_outcome');
    await expect.poll(() => statusOf(opId), { timeout: 10_000 }).toBe('succeeded');
  });

  it('a listener that throws does not turn a success into a failure', async () => {
    const unsubscribe = fleet.panel.ctx.updates.subscribe((e) => {
      if (e.type === 'operation' && e.data.status === 'succeeded') throw new Error('database is locked');
    });
    try {
      const { opId } = await create();
      await expect.poll(() => statusOf(opId)).toBe('succeeded');
      // Still succeeded once the runner is done with it.
      await waitOperation(fleet.panel, opId, 1);
      expect(statusOf(opId)).toBe('succeeded');
    } finally {
      unsubscribe();
    }
  });

  it('a failed action whose state refresh cannot be written ends failed, without an unhandled rejection', async () => {
    const { opId: first, envId } = await create();
    await waitOperation(fleet.panel, first);
    const node = fleet.fakes.node('n1');
    node.failNext.set('restart', () => new NodeCallError('n1', 'container restart', 500, 'boom'));
    node.failNext.set('inspect', () => new Error('socket hang up'));
    failWrites('no_state', 'environments', "NEW.state = 'unknown'");
    const res = await fleet.panel.api('POST', `/environments/${envId}/actions`, { action: 'restart' });
    const opId = res.body.operation.id as string;
    await expect.poll(() => statusOf(opId)).toBe('failed');
    await expect.poll(() => node.calls.filter((c) => c === 'inspect').length).toBeGreaterThan(0);
  });
});
