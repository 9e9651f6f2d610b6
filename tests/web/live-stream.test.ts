// The web panel's live-update stream over real HTTP on loopback: per-session cap and the end of the session.
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamLimits } from '../../server/http/streams.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { openRaw, until, type RawStream } from '../helpers/streams.js';
import { WebClient } from '../helpers/web.js';

describe('the web panel live-update stream', () => {
  let panel: TestPanel;
  let origin: string;
  const saved = { ...streamLimits };
  const open: RawStream[] = [];

  beforeAll(async () => {
    panel = await startTestPanel();
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
    const c = await panel.api('POST', '/customers', { name: 'Live', email: 'live@kura.example', password: 'live-password-1' });
    expect(c.status).toBe(201);
  });
  afterEach(() => {
    Object.assign(streamLimits, saved);
    for (const s of open.splice(0)) s.reset();
  });
  afterAll(async () => panel?.close());

  async function login(): Promise<WebClient> {
    const web = new WebClient(panel);
    expect((await web.login('live@kura.example', 'live-password-1')).statusCode).toBe(303);
    return web;
  }

  async function live(web: WebClient): Promise<RawStream> {
    const s = await openRaw(origin, '/panel/events', { cookie: web.cookieHeader });
    open.push(s);
    return s;
  }

  it('ends the open stream within a few seconds of logout', async () => {
    streamLimits.credentialCheckMs = 200;
    const web = await login();
    const s = await live(web);
    expect(s.status).toBe(200);
    await until(() => /: connected/.test(s.body()), 2_000, 'the stream to start');
    await web.page('/panel');
    expect((await web.post('/logout', {})).statusCode).toBe(303);
    const loggedOut = Date.now();
    await Promise.race([s.closed, new Promise((r) => setTimeout(r, 3_000))]);
    expect(s.isClosed()).toBe(true);
    expect(Date.now() - loggedOut).toBeLessThan(2_000);
  });

  it('lets a session open exactly its cap of streams at once, and frees a place when a page goes', async () => {
    const web = await login();
    const cap = streamLimits.livePerSession;
    const all = await Promise.all(Array.from({ length: cap + 2 }, () => live(web)));
    expect(all.map((s) => s.status).sort()).toEqual([...Array(cap).fill(200), 429, 429]);
    // Another session of the same account has its own places.
    const other = await live(await login());
    expect(other.status).toBe(200);
    all.find((s) => s.status === 200)!.reset();
    await until(async () => {
      const again = await live(web);
      return again.status === 200;
    }, 3_000, 'the place of the page that went to be free');
  });
});
