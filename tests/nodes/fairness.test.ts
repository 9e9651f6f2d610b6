// One customer flooding the API must not take a node offline or slow another customer on it.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labNode } from '../helpers/lab.js';
import { ADMIN_TOKEN, createEnvironment, registerNode, seedCustomer, startTestPanel, type Seed, type TestPanel } from '../helpers/panel.js';
import { floodInWorker } from '../../bench/flood.js';
import { percentile } from '../../bench/figures.js';

const FLOOD_MS = 15_000;
const IN_FLIGHT = 300;

describe('one customer\'s flood on a real node', () => {
  let panel: TestPanel;
  let base: string;
  let nodeId: string;
  let a: Seed;
  let b: Seed;
  let envA: { id: string };
  let envB: { id: string };

  beforeAll(async () => {
    panel = await startTestPanel({ background: true });
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
    nodeId = await registerNode(panel, labNode(1));
    a = await seedCustomer(panel, { email: 'flooder@kura.example' });
    b = await seedCustomer(panel, { email: 'neighbour@kura.example' });
    envA = await createEnvironment(panel, { name: 'flood', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
    envB = await createEnvironment(panel, { name: 'quiet', templateId: 'static-site', planId: b.planId, customerId: b.customerId, nodeId });
  });
  afterAll(async () => panel?.close());

  /** One request over real HTTP, timed. */
  async function timed(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; ms: number; body: any }> {
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, body: text ? JSON.parse(text) : null };
  }

  /** B's usual work: read the environment, read its live usage. */
  async function bReads(n: number, into: { get: number[]; stats: number[]; failures: string[] }): Promise<void> {
    for (let i = 0; i < n; i++) {
      const get = await timed('GET', `/environments/${envB.id}`, b.customerToken);
      if (get.status === 200) into.get.push(get.ms);
      else into.failures.push(`GET environment: ${get.status} ${JSON.stringify(get.body)}`);
      const stats = await timed('GET', `/environments/${envB.id}/stats`, b.customerToken);
      if (stats.status === 200) into.stats.push(stats.ms);
      else into.failures.push(`GET stats: ${stats.status} ${JSON.stringify(stats.body)}`);
    }
  }

  it('keeps the node online and the other customer\'s reads and actions working while ~300 stats requests are in flight', async () => {
    const quiet = { get: [] as number[], stats: [] as number[], failures: [] as string[] };
    await bReads(5, quiet);
    expect(quiet.failures).toEqual([]);

    // A's client runs on a thread of its own, so its work does not slow B's measurements on this one.
    const flood = floodInWorker({ base: `${base}/api/v1/environments/${envA.id}/stats`, targets: [{ method: 'GET', url: '' }],
      token: a.customerToken, inFlight: IN_FLIGHT, ms: FLOOD_MS });
    const floodEnds = Date.now() + FLOOD_MS;
    let acting = false;
    const samples: { status: string; breakerOpen: boolean; state: string; acting: boolean }[] = [];
    const watching = (async () => {
      while (Date.now() < floodEnds) {
        const node = await timed('GET', `/nodes/${nodeId}`, ADMIN_TOKEN);
        const env = await timed('GET', `/environments/${envB.id}`, ADMIN_TOKEN);
        samples.push({ status: node.body?.status, breakerOpen: panel.ctx.nodes.get(nodeId).breaker.open, state: env.body?.state, acting });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const during = { get: [] as number[], stats: [] as number[], failures: [] as string[] };
    // Let the flood build up before B starts measuring.
    await new Promise((r) => setTimeout(r, 2000));
    await bReads(3, during);
    acting = true;
    const restart = await timed('POST', `/environments/${envB.id}/actions`, b.customerToken, { action: 'restart' });
    expect(restart.status, JSON.stringify(restart.body)).toBe(202);
    const op = await timed('GET', `/operations/${restart.body.operation.id}/wait?timeout=30`, b.customerToken);
    acting = false;
    expect(op.body, JSON.stringify(op.body)).toMatchObject({ status: 'succeeded' });
    while (Date.now() < floodEnds - 1000) await bReads(1, during);

    const counts = await flood;
    await watching;

    console.log(`flood answers ${JSON.stringify(counts)}; B GET p50/p99 quiet ${percentile(quiet.get, 0.5).toFixed(1)}/`
      + `${percentile(quiet.get, 0.99).toFixed(1)} ms, flood ${percentile(during.get, 0.5).toFixed(1)}/${percentile(during.get, 0.99).toFixed(1)} ms;`
      + ` stats max quiet ${Math.max(...quiet.stats).toFixed(0)} ms, flood ${Math.max(...during.stats).toFixed(0)} ms`);
    expect(during.failures).toEqual([]);
    // The node was never shown offline and its breaker never opened: A's queue was never taken for the node failing.
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((s) => s.status !== 'online')).toEqual([]);
    expect(samples.filter((s) => s.breakerOpen)).toEqual([]);
    expect(samples.filter((s) => s.state !== 'running' && !s.acting)).toEqual([]);
    expect(samples.filter((s) => s.state === 'unknown')).toEqual([]);
    // A was told to slow down, not that the node failed.
    expect(counts['429'] ?? 0).toBeGreaterThan(0);
    expect(counts['503'] ?? 0).toBe(0);
    // B's reads kept their latency: the database read stays fast, the node read within its quiet time and a second.
    expect(percentile(during.get, 0.99)).toBeLessThan(Math.max(250, 5 * percentile(quiet.get, 0.99)));
    expect(Math.max(...during.stats)).toBeLessThan(Math.max(...quiet.stats) + 1500);

    // Afterwards everything is as it was.
    expect((await timed('GET', `/nodes/${nodeId}`, ADMIN_TOKEN)).body.status).toBe('online');
    expect((await timed('GET', `/environments/${envA.id}`, a.customerToken)).body.state).toBe('running');
    expect((await timed('GET', `/environments/${envB.id}/stats`, b.customerToken)).status).toBe(200);
  });
});
