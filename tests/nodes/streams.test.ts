// Log streams, exec output and console endings against a real lab node: backpressure, caps, and what is left behind.
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { containerName } from '../../server/docker/container-spec.js';
import { OUTPUT_CAP_BYTES } from '../../server/docker/output.js';
import { streamLimits } from '../../server/http/streams.js';
import { pauseNode, resumeNode } from '../../server/lab/lab.js';
import { docker, dockerResult, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';
import { nodeConnections, openRaw, serverSockets, until, type RawStream } from '../helpers/streams.js';
import { WebClient } from '../helpers/web.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'streams-password-1';
const EMAIL = 'streams-owner@kura.example';

describe('streams and exec on a real node', () => {
  let panel: TestPanel;
  let seed: Seed;
  let origin: string;
  let serverSide: ReturnType<typeof serverSockets>;
  let env: { id: string; nodeId: string };
  const saved = { ...streamLimits };
  const open: RawStream[] = [];
  const node = () => labNode(1);
  const container = () => containerName(env.id);

  beforeAll(async () => {
    panel = await startTestPanel();
    serverSide = serverSockets(panel.app);
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(panel.app.server.address() as AddressInfo).port}`;
    const nodeId = await registerNode(panel, node());
    seed = await seedCustomer(panel, { email: EMAIL });
    expect((await panel.api('PATCH', `/customers/${seed.customerId}`, { password: PASSWORD })).status).toBe(200);
    env = await createEnvironment(panel, { name: 'streams', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
  });
  afterEach(async () => {
    Object.assign(streamLimits, saved);
    for (const s of open.splice(0)) s.reset();
    await resumeNode(1);
    // The panel under test has no heartbeat to close a breaker that a test opened.
    panel.ctx.nodes.get(env.nodeId).breaker.reset();
    // Whatever flood a test started ends with it.
    await docker(node(), 'exec', '-u', '0', container(), 'sh', '-c', 'pkill yes; true');
  });
  afterAll(async () => panel?.close());

  async function login(): Promise<WebClient> {
    const web = new WebClient(panel);
    expect((await web.login(EMAIL, PASSWORD)).statusCode).toBe(303);
    return web;
  }

  const logsPath = () => `/panel/environments/${env.id}/logs/stream`;

  async function follow(web: WebClient): Promise<RawStream> {
    const s = await openRaw(origin, logsPath(), { cookie: web.cookieHeader });
    open.push(s);
    return s;
  }

  /** The container's main process writes lines of `width` characters as fast as it can (until `bytes`). */
  async function flood(width: number, bytes: number): Promise<void> {
    await docker(node(), 'exec', '-d', container(), 'sh', '-c',
      `l=$(head -c ${width} /dev/zero | tr '\\0' x); yes "$l" | head -c ${bytes} > /proc/1/fd/1`);
  }

  it('follows a log flood to a browser that stops reading with bounded memory, and frees the node connection when it goes', async () => {
    const web = await login();
    const before = await nodeConnections(node().address);
    const s = await follow(web);
    expect(s.status).toBe(200);
    await until(() => /: following/.test(s.body()), 5_000, 'the stream to start');
    expect(await nodeConnections(node().address)).toBe(before + 1);
    s.stopReading();
    const side = serverSide(s.socket)!;
    const rss = process.memoryUsage().rss;
    await flood(100, 400_000_000);
    let most = 0;
    for (let i = 0; i < 60; i++) {
      await sleep(100);
      most = Math.max(most, side.writableLength);
    }
    const grew = process.memoryUsage().rss - rss;
    console.log(`log flood to a stopped reader: ${side.bytesWritten} bytes taken by the socket, at most ${most} buffered, RSS ${grew >= 0 ? '+' : ''}${(grew / 1048576).toFixed(1)} MiB`);
    // The flood reached the panel (the socket took what the kernel holds), and stopped there.
    expect(side.bytesWritten).toBeGreaterThan(64 * 1024);
    expect(most).toBeLessThan(512 * 1024);

    s.reset();
    await until(async () => (await nodeConnections(node().address)) <= before, 5_000, 'the node connection to be released');
  });

  it('keeps the newest megabyte of a long log, marked as cut', async () => {
    // What Docker itself answers for the same read (its json-file log rotates at 10 MB).
    const fromDocker = async () => (await dockerResult(node(), 'logs', '--tail', '10000', container())).stdout.length;
    for (let i = 0; i < 5 && (await fromDocker()) < 3 * OUTPUT_CAP_BYTES; i++) {
      await flood(1000, 4_000_000);
      await until(async () => !/\byes\b/.test(await docker(node(), 'top', container(), '-o', 'pid,args')), 60_000, 'the flood to end');
    }
    expect(await fromDocker()).toBeGreaterThan(3 * OUTPUT_CAP_BYTES);
    const res = await panel.api('GET', `/environments/${env.id}/logs?tail=10000`);
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(OUTPUT_CAP_BYTES + 100);
    expect(res.text).toMatch(/^\[kura: output truncated, \d+ more bytes were not kept\]\n/);
    expect(res.text.endsWith(`${'x'.repeat(1000)}\n`)).toBe(true);
  }, 300_000);

  it('lets a session open exactly its cap of log streams when they are asked for at once', async () => {
    const web = await login();
    const cap = streamLimits.logsPerSession;
    const all = await Promise.all(Array.from({ length: cap + 2 }, () => follow(web)));
    expect(all.map((s) => s.status).sort()).toEqual([...Array(cap).fill(200), 429, 429]);
  });

  it('frees the place and the node connection of a browser that hangs up while the node is slow to answer', async () => {
    const web = await login();
    const cap = streamLimits.logsPerSession;
    const before = await nodeConnections(node().address);
    await pauseNode(1);
    // Each asks, and hangs up while the panel waits on the paused node.
    const sockets = Array.from({ length: cap }, () => {
      const sock = net.connect(Number(new URL(origin).port), '127.0.0.1');
      sock.on('error', () => { /* reset below */ });
      sock.write(`GET ${logsPath()} HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: ${web.cookieHeader}\r\n\r\n`);
      return sock;
    });
    await sleep(500);
    for (const sock of sockets) sock.resetAndDestroy();
    await sleep(300);
    await resumeNode(1);
    // The node answers the follows that were asked for; the panel closes them, the browsers being gone.
    await sleep(1_500);
    await until(async () => (await nodeConnections(node().address)) <= before, 5_000, 'no follow left open for a browser that left');
    const again = await Promise.all(Array.from({ length: cap }, () => follow(web)));
    expect(again.map((s) => s.status)).toEqual(Array(cap).fill(200));
  });

  it('cuts exec output past the cap with a marker', async () => {
    const client = panel.ctx.nodes.get(env.nodeId);
    const r = await client.exec(container(), ['sh', '-c', 'yes 0123456789 | head -c 3000000; echo done >&2'], 30_000);
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.output.startsWith('0123456789\n0123456789\n')).toBe(true);
    expect(Buffer.byteLength(r.output)).toBeLessThanOrEqual(OUTPUT_CAP_BYTES + 100);
    expect(r.output).toMatch(/\n\[kura: output truncated, \d+ more bytes were not kept\]\n$/);
    const small = await client.exec(container(), ['sh', '-c', 'echo small'], 30_000);
    expect(small).toEqual({ exitCode: 0, output: 'small\n', truncated: false });
  });

  it('stops reading an exec at its deadline, without counting it against the node', async () => {
    const client = panel.ctx.nodes.get(env.nodeId);
    const failed = await client.exec(container(), ['yes', '0123456789abcdef'], 1_000).then(() => null, (err: Error) => err);
    // Whatever arrived before the deadline has been dropped; from now on nothing more is read or kept.
    await sleep(200);
    const start = process.memoryUsage().arrayBuffers;
    await sleep(2_000);
    const grew = process.memoryUsage().arrayBuffers - start;
    console.log(`exec past its deadline: array buffers ${grew >= 0 ? '+' : ''}${(grew / 1048576).toFixed(1)} MiB in 2 s`);
    expect(grew).toBeLessThan(8 * 1024 * 1024);
    // The node answered: a command that runs long is the command's failure, and the node stays usable.
    expect(failed?.message).toMatch(/container exec failed \(504\): the output did not end within the 1000 ms deadline/);
    expect(client.breaker.open).toBe(false);
  });

  it('ends a console and its background jobs even when the customer replaced the tools inside the container', async () => {
    const created = await panel.api('POST', '/environments', { name: 'streams-deb', templateId: 'debian-nginx', planId: seed.planId,
      customerId: seed.customerId, nodeId: env.nodeId });
    expect(created.status).toBe(202);
    expect((await waitOperation(panel, created.body.operation.id, 600)).status).toBe('succeeded');
    const deb = containerName(created.body.environment.id as string);
    const processes = async () => (await docker(node(), 'top', deb, '-o', 'pid,args')).trim().split('\n').slice(1);
    const consoleLeft = async () => (await processes()).filter((l) => /\/bin\/(ba|da)?sh|nap 98\d/.test(l));

    const web = await login();
    const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/panel/environments/${created.body.environment.id}/console`,
      { headers: { cookie: web.cookieHeader }, origin });
    let out = '';
    ws.on('message', (data: Buffer) => { out += data.toString('utf8'); });
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const type = (text: string) => ws.send(JSON.stringify({ type: 'input', data: text }));
    // The customer is root in this template: they replace what a close path inside the container would run.
    type('cp "$(command -v sleep)" /tmp/nap; for t in grep sleep kill pkill ps; do p=$(command -v $t) && [ -f "$p" ] '
      + '&& cp /usr/bin/false "$p.new" && mv "$p.new" "$p"; done; grep -q . /etc/hostname || echo replaced-$((3*4))\n');
    await until(() => /replaced-12/.test(out), 15_000, 'the tools to be replaced');
    // A job, a job its subshell left behind, and one that also dropped the console's environment.
    type('/tmp/nap 987 & (/tmp/nap 986 &) ; (env -i /tmp/nap 985 &) ; echo started-$((2*3))\n');
    await until(() => /started-6/.test(out), 15_000, 'the background jobs to start');
    const running = await consoleLeft();
    for (const job of ['nap 987', 'nap 986', 'nap 985']) expect(running.some((l) => l.includes(job))).toBe(true);
    expect((await processes()).some((l) => /nginx: master/.test(l))).toBe(true);

    ws.close();
    await until(async () => (await consoleLeft()).length === 0, 10_000, 'no console process left');
    // Only the console's processes went: the site still runs.
    expect((await processes()).some((l) => /nginx: master/.test(l))).toBe(true);
  }, 600_000);
});
