import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../server/lib/ids.js';
import { REFUSAL_PAUSE_MS } from '../../server/http/rate-limit.js';
import { FakeNodes } from '../helpers/fake-nodes.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/**
 * Fair use of the panel: one caller over its limits is refused with 429 and Retry-After,
 * and nobody else notices. Low limits here keep the floods small.
 */
describe('request limits per caller', () => {
  let panel: TestPanel;
  let tokenA: string;
  let tokenB: string;
  let tokenC: string;
  let customerA: string;

  beforeAll(async () => {
    panel = await startTestPanel({ nodes: new FakeNodes().registry(), env: {
      KURA_RATE_CUSTOMER_PER_SECOND: '20', KURA_RATE_CUSTOMER_CONCURRENT: '2', KURA_RATE_ANONYMOUS_PER_SECOND: '5',
      KURA_RATE_ANONYMOUS_CONCURRENT: '100' } });
    const issue = async (email: string) => {
      const customer = await panel.api('POST', '/customers', { name: email, email, password: 'rate-password-1' });
      const token = await panel.api('POST', `/customers/${customer.body.id}/tokens`, { name: 'script' });
      return { id: customer.body.id as string, token: token.body.token as string };
    };
    const a = await issue('a@kura.example');
    ({ id: customerA, token: tokenA } = a);
    tokenB = (await issue('b@kura.example')).token;
    tokenC = (await issue('c@kura.example')).token;
  });
  afterAll(async () => panel?.close());

  it('answers one token\'s flood with 429 and Retry-After, while another token is answered as usual', async () => {
    const flood = Array.from({ length: 300 }, () => panel.api('GET', '/plans', undefined, { token: tokenA }));
    const meanwhile = panel.api('GET', '/plans', undefined, { token: tokenB });
    const answers = await Promise.all(flood);
    const refused = answers.filter((r) => r.status === 429);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(250);
    for (const r of refused) {
      expect(r.body.error.code).toBe('rate_limited');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect((await meanwhile).status).toBe(200);
    expect((await panel.api('GET', '/plans', undefined, { token: tokenB })).status).toBe(200);
  });

  it('lets a burst of two seconds\' worth through, then refuses until the rate allows the next', async () => {
    for (let i = 0; i < 40; i++) expect((await panel.api('GET', '/plans', undefined, { token: tokenC })).status).toBe(200);
    const t0 = performance.now();
    const next = await Promise.all([1, 2, 3, 4, 5].map(() => panel.api('GET', '/plans', undefined, { token: tokenC })));
    // Perhaps one came back while the 40 ran; the rest are refused, after the refusal's pause.
    const refused = next.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(REFUSAL_PAUSE_MS / 2 - 50);
    expect(refused[0]!.body.error).toMatchObject({ code: 'rate_limited', details: { limit: 'rate', retryAfterSeconds: 1 } });
    expect(refused[0]!.body.error.message).toMatch(/at most 20 per second/);
    expect(refused[0]!.headers['retry-after']).toBe('1');
  });

  it('refuses a token\'s requests past its limit in flight until one ends, and no other token\'s', async () => {
    // An operation that never runs: waiting on it holds a request open for the whole timeout.
    const opId = newId('op');
    panel.ctx.repos.operations.insert({ id: opId, kind: 'power', resourceId: 'env_x', customerId: customerA, params: { action: 'stop' } });
    const holding = [1, 2].map(() => panel.api('GET', `/operations/${opId}/wait?timeout=1`, undefined, { token: tokenA }));
    await new Promise((r) => setImmediate(r));
    const over = await panel.api('GET', '/templates', undefined, { token: tokenA });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'rate_limited', details: { limit: 'concurrent' } });
    expect(over.headers['retry-after']).toBe('1');
    expect((await panel.api('GET', '/templates', undefined, { token: tokenB })).status).toBe(200);
    expect((await Promise.all(holding)).map((r) => r.status)).toEqual([200, 200]);
    expect((await panel.api('GET', '/templates', undefined, { token: tokenA })).status).toBe(200);
  });

  it('counts requests without a valid token against their address, and answers 429 instead of 401 past it', async () => {
    // inject sends nothing anywhere: the address is only what the panel is told.
    const from = (token: string) => panel.app.inject({ url: '/api/v1/plans', remoteAddress: '192.0.2.7', headers: { authorization: `Bearer ${token}` } });
    const answers = await Promise.all(Array.from({ length: 30 }, () => from('not-a-real-token-0123456789')));
    expect(answers.filter((r) => r.statusCode === 401).length).toBe(10);
    expect(answers.filter((r) => r.statusCode === 429).length).toBe(20);
    // A real token from the same address is its own caller.
    expect((await from(tokenB)).statusCode).toBe(200);
  });

  it('limits a web session as its own caller, with a page in its language', async () => {
    const web = new WebClient(panel);
    expect((await web.login('a@kura.example', 'rate-password-1')).statusCode).toBe(303);
    const pages = await Promise.all(Array.from({ length: 60 }, () => web.get('/panel', { 'accept-language': 'ja' })));
    const refused = pages.filter((p) => p.statusCode === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers['retry-after']).toBeDefined();
    expect(refused[0]!.headers['content-type']).toMatch(/text\/html/);
    expect(refused[0]!.body).toContain('リクエストが多すぎます');
  });

  it('does not count an open event stream as a request in flight', async () => {
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
    const controller = new AbortController();
    try {
      // Past the limit of 2 in flight: each stream is admitted and holds no slot.
      const streams = await Promise.all([1, 2, 3].map(() => fetch(`${base}/api/v1/events`, {
        headers: { authorization: `Bearer ${tokenB}` }, signal: controller.signal })));
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
      const plain = await fetch(`${base}/api/v1/plans`, { headers: { authorization: `Bearer ${tokenB}` } });
      expect(plain.status).toBe(200);
      // The web panel's live updates likewise, for a session.
      const web = new WebClient(panel);
      expect((await web.login('c@kura.example', 'rate-password-1')).statusCode).toBe(303);
      const live = await Promise.all([1, 2, 3].map(() => fetch(`${base}/panel/events`, {
        headers: { cookie: web.cookieHeader }, signal: controller.signal })));
      expect(live.map((s) => s.status)).toEqual([200, 200, 200]);
      expect((await fetch(`${base}/panel`, { headers: { cookie: web.cookieHeader } })).status).toBe(200);
    } finally {
      controller.abort();
    }
  });

  it('documents the 429 answer with its Retry-After header on every API operation', async () => {
    const doc = JSON.parse((await panel.app.inject('/api/v1/openapi.json')).body);
    expect(doc.components.responses.RateLimited.headers['Retry-After'].schema).toMatchObject({ type: 'integer' });
    const ops = Object.values(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>).flatMap((item) => Object.values(item));
    expect(ops.length).toBeGreaterThan(40);
    for (const op of ops) expect(op.responses['429']).toEqual({ $ref: '#/components/responses/RateLimited' });
  });
});
