// The web console (a shell over a WebSocket) and the logs follow stream, against a real lab node.
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { containerName } from '../../server/docker/container-spec.js';
import { consoleLimits } from '../../server/http/ui/panel/console.js';
import { streamLimits } from '../../server/http/streams.js';
import { docker, dockerResult, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'console-password-1';
const OTHER_PASSWORD = 'console-password-2';

interface Console {
  ws: WebSocket;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  type(text: string): void;
}

describe('web console and logs follow on a real node', () => {
  let panel: TestPanel;
  let seed: Seed;
  let origin: string;
  let env: { id: string; nodeId: string; endpoints: { host: string; port: number }[] };
  const saved = { console: { ...consoleLimits }, streams: { ...streamLimits } };
  const node = () => labNode(1);
  const opened: WebSocket[] = [];

  beforeAll(async () => {
    panel = await startTestPanel();
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
    const nodeId = await registerNode(panel, node());
    seed = await seedCustomer(panel, { email: 'console-owner@kura.example' });
    const set = await panel.api('PATCH', `/customers/${seed.customerId}`, { password: PASSWORD });
    if (set.status !== 200) throw new Error(`password: ${set.status} ${set.text}`);
    const other = await panel.api('POST', '/customers', { name: 'Other', email: 'console-other@kura.example', password: OTHER_PASSWORD });
    if (other.status !== 201) throw new Error(`other customer: ${other.status} ${other.text}`);
    env = await createEnvironment(panel, { name: 'console', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
  });
  afterEach(() => {
    Object.assign(consoleLimits, saved.console);
    Object.assign(streamLimits, saved.streams);
    for (const ws of opened.splice(0)) ws.terminate();
  });
  afterAll(async () => panel?.close());

  async function login(email: string, password: string): Promise<WebClient> {
    const web = new WebClient(panel);
    const res = await web.login(email, password);
    expect(res.statusCode).toBe(303);
    expect(web.cookies.has('kura_session')).toBe(true);
    return web;
  }

  /** Opens the console as a browser would; rejects with the HTTP status when the upgrade is refused. */
  function openConsole(cookie: string, o: { origin?: string | null; envId?: string } = {}): Promise<Console> {
    const headers: Record<string, string> = cookie ? { cookie } : {};
    const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/panel/environments/${o.envId ?? env.id}/console`, {
      headers, ...(o.origin === null ? {} : { origin: o.origin ?? origin }),
    });
    opened.push(ws);
    let out = '';
    ws.on('message', (data: Buffer) => { out += data.toString('utf8'); });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    const con: Console = {
      ws, closed, output: () => out,
      type: (text) => ws.send(JSON.stringify({ type: 'input', data: text })),
      async waitFor(pattern, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        while (!pattern.test(out)) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in the console output: ${JSON.stringify(out.slice(-500))}`);
          await sleep(50);
        }
      },
    };
    return new Promise((resolve, reject) => {
      ws.on('open', () => resolve(con));
      ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.on('error', reject);
    });
  }

  /** Processes in the container, read from the node without an exec (docker top). */
  async function consoleProcesses(envId = env.id): Promise<string[]> {
    const lines = (await docker(node(), 'top', containerName(envId), '-o', 'pid,args')).trim().split('\n').slice(1);
    return lines.filter((l) => /\/bin\/(ba)?sh|sleep 987/.test(l));
  }

  async function waitNoConsoleProcesses(envId = env.id, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let left = await consoleProcesses(envId);
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(200);
      left = await consoleProcesses(envId);
    }
    expect(left).toEqual([]);
  }

  it('runs a shell as the container user, echoes a round trip, follows resizes, and audits the opening', async () => {
    const web = await login('console-owner@kura.example', PASSWORD);
    const con = await openConsole(web.cookieHeader);
    con.ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 33 }));
    con.type('echo kura-$((6*7))\n');
    await con.waitFor(/kura-42/);
    con.type('echo "user=$(id -u) term=$TERM size=$(stty size)"\n');
    await con.waitFor(/user=1000 term=xterm-256color size=33 101/);
    expect(await consoleProcesses()).not.toEqual([]);
    const entry = panel.ctx.repos.audit.list({ limit: 100 }).find((e) => e.action === 'environment.console' && e.resourceId === env.id);
    expect(entry).toMatchObject({ via: 'web', actorKind: 'customer', customerId: seed.customerId, resourceType: 'environment' });
    con.ws.close();
    await con.closed;
    await waitNoConsoleProcesses();
  });

  it("refuses another customer's session, no session, and a foreign or missing Origin before the upgrade", async () => {
    const owner = await login('console-owner@kura.example', PASSWORD);
    const other = await login('console-other@kura.example', OTHER_PASSWORD);
    await expect(openConsole(other.cookieHeader)).rejects.toMatchObject({ status: 404 });
    await expect(openConsole('')).rejects.toMatchObject({ status: 303 });
    await expect(openConsole(owner.cookieHeader, { origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(openConsole(owner.cookieHeader, { origin: null })).rejects.toMatchObject({ status: 403 });
    await expect(openConsole(owner.cookieHeader, { envId: 'env_00000000000000000000' })).rejects.toMatchObject({ status: 404 });
  });

  it('closes on a message outside the protocol', async () => {
    const web = await login('console-owner@kura.example', PASSWORD);
    const con = await openConsole(web.cookieHeader);
    con.ws.send(JSON.stringify({ type: 'resize', cols: 9999, rows: 10 }));
    expect((await con.closed).code).toBe(1008);
    const again = await openConsole(web.cookieHeader);
    again.ws.send('not json');
    expect((await again.closed).code).toBe(1008);
    await waitNoConsoleProcesses();
  });

  it('limits the consoles one session may open at once', async () => {
    const web = await login('console-owner@kura.example', PASSWORD);
    const three = await Promise.all([1, 2, 3].map(() => openConsole(web.cookieHeader)));
    const fourth = await openConsole(web.cookieHeader);
    const closed = await fourth.closed;
    expect(closed).toEqual({ code: 1008, reason: 'too many consoles' });
    expect(fourth.output()).toMatch(/At most 3 consoles/);
    for (const c of three) c.ws.close();
    await Promise.all(three.map((c) => c.closed));
    const after = await openConsole(web.cookieHeader);
    after.type('echo again-$((1+1))\n');
    await after.waitFor(/again-2/);
    after.ws.close();
    await waitNoConsoleProcesses();
  });

  it('closes the console after the idle time without input', async () => {
    consoleLimits.idleMs = 600;
    consoleLimits.idleCheckMs = 200;
    const web = await login('console-owner@kura.example', PASSWORD);
    const con = await openConsole(web.cookieHeader);
    const started = Date.now();
    expect(await con.closed).toEqual({ code: 1000, reason: 'idle' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitNoConsoleProcesses();
  });

  it('closes the open console after logout and ends its shell and background jobs', async () => {
    streamLimits.credentialCheckMs = 300;
    const web = await login('console-owner@kura.example', PASSWORD);
    const con = await openConsole(web.cookieHeader);
    con.type('sleep 987 &\necho started-$((2*3))\n');
    await con.waitFor(/started-6/);
    const running = await consoleProcesses();
    expect(running.some((l) => /sleep 987/.test(l))).toBe(true);
    expect(running.some((l) => /\/bin\/sh/.test(l))).toBe(true);

    await web.page('/panel');
    const out = await web.post('/logout', {});
    expect(out.statusCode).toBe(303);
    const loggedOut = Date.now();
    const closed = await Promise.race([con.closed, sleep(3_000).then(() => null)]);
    expect(closed).toEqual({ code: 1008, reason: 'session ended' });
    expect(Date.now() - loggedOut).toBeLessThan(streamLimits.credentialCheckMs + 1_000);
    expect(con.output()).toMatch(/session has ended/);
    await waitNoConsoleProcesses();
    // The old cookie opens nothing any more.
    await expect(openConsole(web.cookieHeader)).rejects.toMatchObject({ status: 303 });
  });

  it('opens bash where the image has it (Debian template) and ends it on close', async () => {
    const created = await panel.api('POST', '/environments', { name: 'console-deb', templateId: 'debian-nginx', planId: seed.planId,
      customerId: seed.customerId, nodeId: env.nodeId });
    expect(created.status).toBe(202);
    expect((await waitOperation(panel, created.body.operation.id, 600)).status).toBe('succeeded');
    const deb = { ...env, id: created.body.environment.id as string };
    const web = await login('console-owner@kura.example', PASSWORD);
    const con = await openConsole(web.cookieHeader, { envId: deb.id });
    con.type('echo "shell=${BASH_VERSION:+bash} $((6*7))"\n');
    await con.waitFor(/shell=bash 42/);
    expect(await consoleProcesses(deb.id)).not.toEqual([]);
    con.ws.close();
    await con.closed;
    await waitNoConsoleProcesses(deb.id);
  });

  it('follows the container log as server-sent events from now on, until the session ends', async () => {
    streamLimits.credentialCheckMs = 300;
    const web = await login('console-owner@kura.example', PASSWORD);
    const other = await login('console-other@kura.example', OTHER_PASSWORD);
    const url = `${origin}/panel/environments/${env.id}/logs/stream`;
    expect((await fetch(url, { headers: { cookie: other.cookieHeader } })).status).toBe(404);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(303);

    // Writes a line to the container's log: the main process's stderr.
    const writeLog = (line: string) => docker(node(), 'exec', containerName(env.id), 'sh', '-c', `echo ${line} > /proc/1/fd/2`);
    const before = `kura-before-${Math.random().toString(36).slice(2, 10)}`;
    await writeLog(before);
    expect((await dockerResult(node(), 'logs', containerName(env.id))).stderr).toContain(before);
    await sleep(1100);

    const res = await fetch(url, { headers: { cookie: web.cookieHeader } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const events = (): string[] => [...text.matchAll(/event: log\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!) as string);
    let ended = false;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      ended = true;
    })();

    const marker = `kura-after-${Math.random().toString(36).slice(2, 10)}`;
    await writeLog(marker);
    const deadline = Date.now() + 10_000;
    while (!events().join('').includes(marker) && Date.now() < deadline) await sleep(50);
    expect(events().join('')).toContain(`${marker}\n`);
    // From now on: older lines (the page shows those) are not sent again.
    expect(events().join('')).not.toContain(before);
    expect(ended).toBe(false);

    await web.page('/panel');
    expect((await web.post('/logout', {})).statusCode).toBe(303);
    const loggedOut = Date.now();
    await Promise.race([reading, sleep(3_000)]);
    expect(ended).toBe(true);
    expect(Date.now() - loggedOut).toBeLessThan(streamLimits.credentialCheckMs + 1_000);
  });
});
