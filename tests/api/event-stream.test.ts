// The API's /events stream over real HTTP on loopback: per-token cap, revocation, a client that does not read.
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamLimits } from '../../server/http/streams.js';
import { ADMIN_TOKEN, startTestPanel, type TestPanel } from '../helpers/panel.js';
import { openRaw, serverSockets, until, type RawStream } from '../helpers/streams.js';

describe('the API event stream', () => {
  let panel: TestPanel;
  let origin: string;
  let serverSide: ReturnType<typeof serverSockets>;
  const saved = { ...streamLimits };
  const open: RawStream[] = [];

  beforeAll(async () => {
    panel = await startTestPanel();
    serverSide = serverSockets(panel.app);
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    Object.assign(streamLimits, saved);
    for (const s of open.splice(0)) s.reset();
  });
  afterAll(async () => panel?.close());

  async function customerToken(): Promise<{ id: string; token: string }> {
    const c = await panel.api('POST', '/customers', { name: 'Streams', email: `s${Math.random().toString(36).slice(2, 10)}@kura.example` });
    const t = await panel.api('POST', `/customers/${c.body.id}/tokens`, { name: 'events' });
    expect(t.status).toBe(201);
    return { id: t.body.id, token: t.body.token };
  }

  async function events(token: string): Promise<RawStream> {
    const s = await openRaw(origin, '/api/v1/events', { authorization: `Bearer ${token}` });
    open.push(s);
    return s;
  }

  it('lets a token open exactly its cap of streams, even when they are asked for at once, and frees a place when a client hangs up', async () => {
    const { token } = await customerToken();
    const cap = streamLimits.eventsPerToken;
    const all = await Promise.all(Array.from({ length: cap + 2 }, () => events(token)));
    expect(all.map((s) => s.status).sort()).toEqual([...Array(cap).fill(200), 429, 429]);
    const refused = all.find((s) => s.status === 429)!;
    await until(() => /rate_limited/.test(refused.body()), 2_000, 'the refusal in the error shape');

    const streaming = all.filter((s) => s.status === 200);
    for (const s of streaming) s.reset();
    // Each reset frees its place: a full set opens again.
    await until(async () => {
      const again = await Promise.all(Array.from({ length: cap }, () => events(token)));
      const ok = again.every((s) => s.status === 200);
      for (const s of again) s.reset();
      return ok;
    }, 3_000, 'the places of the clients that hung up to be free');
  });

  it('ends the stream of a revoked token within a few seconds', async () => {
    streamLimits.credentialCheckMs = 200;
    const { id, token } = await customerToken();
    const s = await events(token);
    expect(s.status).toBe(200);
    await until(() => /: connected/.test(s.body()), 2_000, 'the stream to start');
    expect((await panel.api('DELETE', `/tokens/${id}`)).status).toBe(204);
    const revoked = Date.now();
    await Promise.race([s.closed, new Promise((r) => setTimeout(r, 3_000))]);
    expect(s.isClosed()).toBe(true);
    expect(Date.now() - revoked).toBeLessThan(2_000);
    // The token opens nothing any more.
    expect((await panel.api('GET', '/plans', undefined, { token })).status).toBe(401);
  });

  it('cuts off a client that stops reading instead of buffering the update bus for it', async () => {
    const s = await events(ADMIN_TOKEN);
    expect(s.status).toBe(200);
    await until(() => /: connected/.test(s.body()), 2_000, 'the stream to start');
    s.stopReading();
    const side = serverSide(s.socket)!;
    expect(side).toBeDefined();
    const blob = 'x'.repeat(16 * 1024);
    let most = 0;
    // 48 MiB of events: far more than the kernel's socket buffers hold.
    for (let i = 0; i < 3000 && !side.destroyed; i++) {
      panel.ctx.updates.publish({ type: 'environment', customerId: null, data: { id: `env_${i}`, blob } });
      most = Math.max(most, side.writableLength);
    }
    expect(most).toBeLessThan(streamLimits.backlogBytes + 64 * 1024);
    await until(() => s.isClosed(), 2_000, 'the slow client to be cut off');
  });
});
