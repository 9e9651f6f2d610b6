import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseSnapshot } from '../helpers/snapshot.js';
import { containerName } from '../../server/docker/container-spec.js';
import { newId } from '../../server/lib/ids.js';
import { inspect, labNode } from '../helpers/lab.js';
import { ADMIN_TOKEN, createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Reply, type Seed, type TestPanel } from '../helpers/panel.js';

// "Another customer's token gets 404 on every environment route": customer B, holding its own token,
// probes customer A's environment, operations, customer record and token. Every answer must be the
// very 404 a made-up id gets, and A's data and running container must be exactly as before.

let panel: TestPanel;
let A: Seed & { env: any; op: string; tokenId: string };
let B: Seed & { env: any };
let samePlanOtherLimits: string;
const node = () => labNode(1);

function snapshot(): Record<string, unknown[]> {
  return databaseSnapshot(panel.ctx.repos.db);
}

/** What must not move on A's container: running, when it started, and every limit from the plan. */
async function containerOfA() {
  const c = await inspect(node(), containerName(A.env.id));
  const { NanoCpus, Memory, MemorySwap, PidsLimit, StorageOpt } = c.HostConfig;
  return { running: c.State.Running, startedAt: c.State.StartedAt, NanoCpus, Memory, MemorySwap, PidsLimit, StorageOpt };
}

/** The answer with the probed id replaced, so a foreign id and a made-up one can be compared whole. */
function shape(res: Reply, id: string) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)));
  return { status: res.status, headers, body: JSON.parse(res.text.replaceAll(id, '<id>')) as unknown };
}

type Kind = 'env' | 'op' | 'cus' | 'tok';
type Probe = [method: string, url: string, kind: Kind, body?: (id: string) => unknown];
const PROBES: Probe[] = [
  ['GET', '/environments/{id}', 'env'],
  ['PATCH', '/environments/{id}', 'env', () => ({ planId: samePlanOtherLimits })],
  ['DELETE', '/environments/{id}', 'env'],
  ['POST', '/environments/{id}/actions', 'env', () => ({ action: 'start' })],
  ['POST', '/environments/{id}/actions', 'env', () => ({ action: 'stop' })],
  ['POST', '/environments/{id}/actions', 'env', () => ({ action: 'restart' })],
  ['GET', '/environments/{id}/stats', 'env'],
  ['GET', '/environments/{id}/logs?tail=20', 'env'],
  ['GET', '/operations/{id}', 'op'],
  ['GET', '/operations/{id}/wait?timeout=1', 'op'],
  ['GET', '/customers/{id}', 'cus'],
  ['POST', '/customers/{id}/tokens', 'cus', () => ({ name: 'stolen' })],
  ['GET', '/customers/{id}/tokens', 'cus'],
  ['DELETE', '/tokens/{id}', 'tok'],
  ['POST', '/environments', 'cus', (id) => ({ name: 'planted', templateId: 'static-site', planId: B.planId, customerId: id })],
];
const PREFIX: Record<Kind, string> = { env: 'env', op: 'op', cus: 'cus', tok: 'tok' };

describe("Another customer's token gets 404 on every environment route", () => {
  beforeAll(async () => {
    panel = await startTestPanel();
    await registerNode(panel, node());
    const a = await seedCustomer(panel);
    const b = await seedCustomer(panel);
    const envA = await createEnvironment(panel, { name: 'site-a', templateId: 'static-site', planId: a.planId }, { token: a.customerToken });
    const envB = await createEnvironment(panel, { name: 'site-b', templateId: 'static-site', planId: b.planId }, { token: b.customerToken });
    const op = (await panel.api('GET', `/operations?resourceId=${envA.id}`)).body.items[0].id as string;
    const tokenId = (await panel.api('GET', `/customers/${a.customerId}/tokens`)).body.items[0].id as string;
    A = { ...a, env: envA, op, tokenId };
    B = { ...b, env: envB };
    // Same disk size as A's plan, so the resize would be accepted if B were allowed to ask.
    samePlanOtherLimits = (await panel.api('POST', '/plans', { name: 'same-disk', cpus: 1, memoryMb: 256, diskMb: 256, pids: 128 })).body.id;
  });
  afterAll(async () => panel?.close());

  it('both environments run on the lab node, each under its own customer', async () => {
    for (const [who, env] of [[A, A.env], [B, B.env]] as const) {
      expect(env.state).toBe('running');
      const c = await inspect(node(), containerName(env.id));
      expect(c.State.Running).toBe(true);
      expect(c.Config.Labels['io.kura.customer']).toBe(who.customerId);
    }
  });

  for (const [method, url, kind, body] of PROBES) {
    it(`${method} ${url} (${kind}) on A's resource with B's token answers exactly like a missing id`, async () => {
      const foreign = { env: A.env.id, op: A.op, cus: A.customerId, tok: A.tokenId }[kind];
      const madeUp = newId(PREFIX[kind]);
      expect(madeUp).toHaveLength(foreign.length);
      const [rows, container] = [snapshot(), await containerOfA()];

      const send = (id: string) => panel.api(method, url.replace('{id}', id), body?.(id), { token: B.customerToken });
      const [onForeign, onMissing] = [await send(foreign), await send(madeUp)];

      expect(onForeign.status, onForeign.text).toBe(404);
      expect(onForeign.body.error.code).toBe('not_found');
      expect(onForeign.body.error.message).toContain(foreign);
      expect(onForeign.body.error.message.replace(foreign, '<id>')).toBe(onMissing.body.error.message.replace(madeUp, '<id>'));
      expect(shape(onForeign, foreign)).toEqual(shape(onMissing, madeUp));

      expect(snapshot(), 'the database changed').toEqual(rows);
      expect(await containerOfA(), "A's container changed").toEqual(container);
    });
  }

  it("A's environment is untouched: running, same plan and limits, A's token still works", async () => {
    const c = await containerOfA();
    expect(c).toMatchObject({ running: true, NanoCpus: 0.5e9, Memory: 128 * 1048576, MemorySwap: 128 * 1048576, PidsLimit: 64 });
    const asA = await panel.api('GET', `/environments/${A.env.id}`, undefined, { token: A.customerToken });
    expect(asA.status).toBe(200);
    expect(asA.body).toMatchObject({ state: 'running', planId: A.planId, limits: { cpus: 0.5, memoryMb: 128, pids: 64 } });
    expect((await panel.api('GET', `/customers/${A.customerId}/tokens`)).body.items.map((t: { id: string }) => t.id)).toEqual([A.tokenId]);
  });

  it("lists show B only B's environments and operations, whatever the filter", async () => {
    const list = async (q: string) => (await panel.api('GET', `/environments${q}`, undefined, { token: B.customerToken })).body;
    const all = await list('');
    expect(all.items.map((e: { id: string }) => e.id)).toEqual([B.env.id]);
    for (const q of [`?customerId=${A.customerId}`, `?customerId=${A.customerId}&state=running`]) {
      expect(await list(q), q).toEqual({ items: [], nextCursor: null });
    }
    for (const q of [`?nodeId=${A.env.nodeId}`, '?state=running', `?customerId=${B.customerId}`, '?limit=500']) {
      expect((await list(q)).items.map((e: { customerId: string }) => e.customerId), q).toEqual([B.customerId]);
    }
    const ops = (await panel.api('GET', `/operations?resourceId=${A.env.id}`, undefined, { token: B.customerToken })).body;
    expect(ops).toEqual({ items: [], nextCursor: null });
    const own = (await panel.api('GET', '/operations?limit=500', undefined, { token: B.customerToken })).body.items;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((o: { resource: { id: string } }) => o.resource.id === B.env.id)).toBe(true);
  });

  describe('GET /events over real HTTP', () => {
    let base: string;
    beforeAll(async () => {
      await panel.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}/api/v1`;
    });

    /** Reads an SSE stream in the background until stop() is called. */
    function openStream(token: string) {
      const ctl = new AbortController();
      const state = { status: 0, type: '', text: '' };
      const done = (async () => {
        const res = await fetch(`${base}/events`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
        Object.assign(state, { status: res.status, type: res.headers.get('content-type') ?? '' });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          state.text += decoder.decode(value, { stream: true });
        }
      })().catch((err: Error) => {
        if (err.name !== 'AbortError') throw err;
      });
      const events = () => state.text.split('\n\n').filter((b) => b.includes('data: ')).map((b) => ({
        type: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as Record<string, any>,
      }));
      return { state, events, stop: async () => { ctl.abort(); await done; } };
    }
    const until = async (cond: () => boolean, ms = 5000) => {
      for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 25));
    };
    const act = async (envId: string, action: string, token?: string) => {
      const res = await panel.api('POST', `/environments/${envId}/actions`, { action }, token ? { token } : {});
      expect(res.status, res.text).toBe(202);
      expect((await waitOperation(panel, res.body.operation.id)).status).toBe('succeeded');
      return res.body.operation.id as string;
    };

    it("B's stream shows B's own events and none of A's while the admin stops and starts A's environment", async () => {
      const streams = { b: openStream(B.customerToken), a: openStream(A.customerToken), admin: openStream(ADMIN_TOKEN) };
      await until(() => Object.values(streams).every((s) => s.state.text.includes(': connected')));
      for (const s of Object.values(streams)) expect([s.state.status, s.state.type]).toEqual([200, expect.stringMatching(/^text\/event-stream/)]);

      const aOps = [await act(A.env.id, 'stop'), await act(A.env.id, 'start')];
      const bOp = await act(B.env.id, 'restart', B.customerToken);
      await new Promise((r) => setTimeout(r, 2000));
      await Promise.all(Object.values(streams).map((s) => s.stop()));

      // The admin saw A's events: they did happen while B was listening.
      const adminText = streams.admin.state.text;
      for (const id of [A.env.id, ...aOps]) expect(adminText).toContain(id);
      expect(streams.admin.events().some((e) => e.type === 'environment' && e.data.id === A.env.id && e.data.state === 'stopped')).toBe(true);

      // B saw its own operation and environment events, and nothing that names A.
      const bEvents = streams.b.events();
      expect(bEvents.some((e) => e.type === 'operation' && e.data.id === bOp && e.data.status === 'succeeded')).toBe(true);
      expect(bEvents.some((e) => e.type === 'environment' && e.data.id === B.env.id)).toBe(true);
      for (const e of bEvents) {
        if (e.type === 'environment') expect(e.data.customerId).toBe(B.customerId);
        if (e.type === 'operation') expect(e.data.resource.id).toBe(B.env.id);
      }
      for (const secret of [A.env.id, A.customerId, A.op, ...aOps]) expect(streams.b.state.text).not.toContain(secret);

      // And A, symmetrically, saw its own and not B's.
      for (const id of aOps) expect(streams.a.state.text).toContain(id);
      for (const secret of [B.env.id, B.customerId, bOp]) expect(streams.a.state.text).not.toContain(secret);
      expect((await containerOfA()).running).toBe(true);
    });
  });
});
