// Quotas hold: each plan limit is abused from inside an environment's container and checked
// from outside with the docker CLI, while a neighbouring customer's site keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, httpGet, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type TestPanel } from '../helpers/panel.js';

const MIB = 1048576;
const node = () => labNode(3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`quotas: ${line}\n`);

/** `docker exec` into a container; never throws, the exit code is part of the answer. */
const exec = (container: string, script: string) => dockerResult(node(), 'exec', container, 'sh', '-c', script);

/** Reads cgroup (v1) files inside the container; returns name -> first line. */
async function cgroup(container: string, ...files: string[]): Promise<Record<string, string>> {
  const out = await docker(node(), 'exec', container, 'sh', '-c', files.map((f) => `echo "${f}=$(head -n1 /sys/fs/cgroup/${f})"`).join('; '));
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The memory cgroup's count of OOM kills (cgroup v1 memory.oom_control). */
async function oomKills(container: string): Promise<number> {
  const line = await docker(node(), 'exec', container, 'grep', '^oom_kill ', '/sys/fs/cgroup/memory/memory.oom_control');
  return Number(line.trim().split(' ')[1]);
}

/** Fetches an URL every ~100 ms in the background until stopped; counts failures and slow answers. */
function startProbe(url: string) {
  const result = { count: 0, failures: [] as string[], slow: 0, maxMs: 0 };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      const res = await httpGet(url, 2000);
      const ms = Date.now() - t0;
      result.count++;
      result.maxMs = Math.max(result.maxMs, ms);
      if (res?.status !== 200) result.failures.push(`${new Date(t0).toISOString()} ${res ? `HTTP ${res.status}` : 'no answer'} after ${ms} ms`);
      else if (ms > 1000) result.slow++;
      await sleep(Math.max(0, 100 - ms));
    }
  })();
  return { result, async stop() { stopped = true; await done; return result; } };
}

/**
 * A fork flood that survives its own failed forks: busybox ash exits on "can't fork", so each
 * round floods from a subshell; the outer shell only reads with builtins and kills what it started.
 * It all runs in ONE exec: a `docker exec` joining a full cgroup is not held by pids.max (cgroup
 * migration is not limited), so a second exec during the flood would push pids.peak past 32.
 */
const FORK_FLOOD = `
: > /tmp/pids; : > /tmp/forkerr; r=0
while [ $r -lt 5 ]; do
  r=$((r+1))
  ( i=0; while [ $i -lt 200 ]; do i=$((i+1)); sleep 60 & echo $! >> /tmp/pids; done ) 2>>/tmp/forkerr
done
read cur < /sys/fs/cgroup/pids/pids.current
read peak < /sys/fs/cgroup/pids/pids.peak
fails=0; msg=""
while read line; do fails=$((fails+1)); msg="$line"; done < /tmp/forkerr
started=0
while read p; do started=$((started+1)); kill $p 2>/dev/null; done < /tmp/pids
echo "current=$cur peak=$peak started=$started failed=$fails msg=$msg"`;

/** "a=1 b=2 msg=free text" -> { a: '1', b: '2', msg: 'free text' } */
function parseKv(line: string): Record<string, string> {
  const [head, msg = ''] = line.split(' msg=');
  return { ...Object.fromEntries(head!.split(' ').map((kv) => kv.split('='))), msg };
}

/** DELETE and wait; returns null when it worked, else what went wrong. */
async function deleteEnvironment(panel: TestPanel, id: string): Promise<string | null> {
  const del = await panel.api('DELETE', `/environments/${id}`);
  if (del.status !== 202) return `${id}: ${del.status} ${del.text}`;
  const op = await waitOperation(panel, del.body.operation.id);
  return op.status === 'succeeded' ? null : `${id}: ${JSON.stringify(op)}`;
}

/** Writes `mib` MiB into dir; expects dd to fail with ENOSPC or EDQUOT; returns the bytes that landed. */
async function fillDisk(container: string, dir: string, mib = 200): Promise<number> {
  const dd = await exec(container, `dd if=/dev/zero of=${dir}/big bs=1M count=${mib}`);
  const size = Number((await docker(node(), 'exec', container, 'sh', '-c', `wc -c < ${dir}/big`)).trim());
  log(`disk ${container}:${dir}: dd exit ${dd.code}, ${size} bytes (${(size / MIB).toFixed(2)} MiB) written; ${dd.stderr.trim().split('\n')[0]}`);
  expect(dd.code).not.toBe(0);
  expect(dd.stderr).toMatch(/No space left on device|Disk quota exceeded/);
  await exec(container, `rm -f ${dir}/big`);
  return size;
}

describe('Quotas hold, checked from outside with the docker CLI', () => {
  let panel: TestPanel;
  let abuser: any;
  let neighbour: any;
  let neighbourBefore: any;
  let probe: ReturnType<typeof startProbe>;
  const created: string[] = [];

  beforeAll(async () => {
    panel = await startTestPanel();
    const nodeId = await registerNode(panel, node());
    const a = await seedCustomer(panel, { plan: { cpus: 0.5, memoryMb: 64, diskMb: 64, pids: 32 } });
    const b = await seedCustomer(panel);
    abuser = await createEnvironment(panel, { name: 'abuser', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
    created.push(abuser.id);
    neighbour = await createEnvironment(panel, { name: 'neighbour', templateId: 'static-site', planId: b.planId, customerId: b.customerId, nodeId });
    created.push(neighbour.id);
    neighbourBefore = await inspect(node(), containerName(neighbour.id));
    const ep = neighbour.endpoints[0];
    probe = startProbe(`http://${ep.host}:${ep.port}/`);
    await sleep(500);
  });

  afterAll(async () => {
    await probe?.stop();
    const failures = [];
    for (const id of created) failures.push(await deleteEnvironment(panel, id));
    await panel?.close();
    expect(failures.filter(Boolean)).toEqual([]);
  });

  it('stops a fork flood at the pids limit', async () => {
    const name = containerName(abuser.id);
    expect((await inspect(node(), name)).HostConfig.PidsLimit).toBe(32);
    expect((await cgroup(name, 'pids/pids.max'))['pids/pids.max']).toBe('32');
    const res = await exec(name, FORK_FLOOD);
    expect(res.code, res.stderr).toBe(0);
    const f = parseKv(res.stdout.trim());
    log(`fork flood: ${res.stdout.trim()}`);
    expect(Number(f.peak)).toBeLessThanOrEqual(32);
    expect(Number(f.current)).toBeLessThanOrEqual(32);
    expect(Number(f.started)).toBeLessThan(32);
    expect(Number(f.failed)).toBeGreaterThan(0);
    expect(f.msg).toMatch(/can't fork|Resource temporarily unavailable/);
    // The flood is gone again and the site still serves.
    for (let i = 0; i < 20 && Number((await cgroup(name, 'pids/pids.current'))['pids/pids.current']) > 4; i++) await sleep(250);
    const events = await cgroup(name, 'pids/pids.current', 'pids/pids.peak', 'pids/pids.events');
    log(`after flood: ${JSON.stringify(events)}`);
    expect(Number(events['pids/pids.peak'])).toBeLessThanOrEqual(32);
    const ep = abuser.endpoints[0];
    expect((await httpGet(`http://${ep.host}:${ep.port}/`))?.status).toBe(200);
  });

  it('OOM-kills a memory hog inside its own limit; the environment stays up', async () => {
    const name = containerName(abuser.id);
    const before = await inspect(node(), name);
    expect(before.HostConfig.Memory).toBe(64 * MIB);
    const oomBefore = await oomKills(name);
    // The shell keeps a command substitution's output in its own memory: 100 MB of "a".
    const hog = await exec(name, 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo "survived ${#x}"');
    log(`memory hog: exit ${hog.code} ${JSON.stringify(hog.stdout + hog.stderr)}`);
    expect(hog.code).toBe(137);
    expect(hog.stdout).not.toContain('survived');
    const mem = await docker(node(), 'exec', name, 'sh', '-c', 'cd /sys/fs/cgroup/memory && cat memory.limit_in_bytes memory.max_usage_in_bytes ');
    const [limit, maxUsage] = mem.trim().split('\n');
    const oomAfter = await oomKills(name);
    log(`memory: limit=${limit} max_usage=${maxUsage} oom_kill ${oomBefore} -> ${oomAfter}`);
    expect(Number(limit)).toBe(64 * MIB);
    expect(Number(maxUsage)).toBeLessThanOrEqual(64 * MIB);
    expect(oomAfter).toBe(oomBefore + 1);

    // The container itself was not killed (its init and httpd survive) and still serves.
    const after = await inspect(node(), name);
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    const ep = abuser.endpoints[0];
    expect((await httpGet(`http://${ep.host}:${ep.port}/`))?.status).toBe(200);
    expect((await panel.api('GET', `/environments/${abuser.id}`)).body.state).toBe('running');

    // The neighbour was not touched at all.
    const n = await inspect(node(), containerName(neighbour.id));
    expect(n.State).toMatchObject({ Running: true, OOMKilled: false, StartedAt: neighbourBefore.State.StartedAt });
    expect(n.RestartCount).toBe(0);
    expect(await oomKills(containerName(neighbour.id))).toBe(0);
  });

  it('refuses writes past diskMb in the data path', async () => {
    const name = containerName(abuser.id);
    expect((await inspect(node(), name)).HostConfig.StorageOpt).toEqual({ size: String(64 * MIB) });
    const written = await fillDisk(name, '/srv/www');
    expect(written).toBeLessThan(64 * MIB);
  });

  it('holds a busy loop to the plan\'s CPU share', async () => {
    const name = containerName(abuser.id);
    expect((await inspect(node(), name)).HostConfig.NanoCpus).toBe(0.5e9);
    await docker(node(), 'exec', '-d', name, 'sh', '-c', 'echo $$ > /tmp/busy.pid; while :; do :; done');
    try {
      await sleep(2000);
      const usage = async () => [Number((await cgroup(name, 'cpuacct/cpuacct.usage'))['cpuacct/cpuacct.usage']), process.hrtime.bigint()] as const;
      const [u0, t0] = await usage();
      await sleep(4000);
      const [u1, t1] = await usage();
      const share = (u1 - u0) / Number(t1 - t0);
      const cliPercents: number[] = [];
      for (let i = 0; i < 3; i++) {
        const out = await docker(node(), 'stats', '--no-stream', '--format', '{{.CPUPerc}}', name);
        cliPercents.push(Number.parseFloat(out));
      }
      const api = await panel.api('GET', `/environments/${abuser.id}/stats`);
      const throttled = await docker(node(), 'exec', name, 'grep', 'nr_throttled', '/sys/fs/cgroup/cpu/cpu.stat');
      log(`cpu: cgroup share ${(share * 100).toFixed(1)}%, docker stats ${cliPercents.join('%, ')}%, API ${api.body?.cpuPercent}%, ${throttled.trim()}`);
      expect(share).toBeLessThanOrEqual(0.6);
      expect(share).toBeGreaterThan(0.1); // the loop really ran
      for (const p of cliPercents) expect(p).toBeLessThanOrEqual(60);
      expect(api.status).toBe(200);
      expect(api.body.cpuPercent).toBeLessThanOrEqual(60);
      expect(Number(throttled.trim().split(' ')[1])).toBeGreaterThan(0);
    } finally {
      await exec(name, 'kill $(cat /tmp/busy.pid)');
    }
  });

  it('kept the neighbour answering every probe during all of it', async () => {
    const r = await probe.stop();
    log(`neighbour probe: ${r.count} probes, ${r.failures.length} failures, ${r.slow} slower than 1 s, slowest ${r.maxMs} ms ${r.failures.join('; ')}`);
    expect(r.count).toBeGreaterThan(50);
    expect(r.failures).toEqual([]);
    // One slow answer is tolerated: the 2-core lab machine is shared with the abuser's node and with the test runner.
    expect(r.slow).toBeLessThanOrEqual(1);
    const n = await inspect(node(), containerName(neighbour.id));
    expect(n.State.StartedAt).toBe(neighbourBefore.State.StartedAt);
    expect(n.RestartCount).toBe(0);
  });

  it('serves nginx from the debian-nginx OS template and holds its disk quota', async () => {
    // On this btrfs node the quota also counts the image (about 130 MB for this template), and
    // Docker refuses to create a container whose image alone exceeds it: diskMb 64 cannot work here.
    const plan = await panel.api('POST', '/plans', { name: 'debian-disk', cpus: 1, memoryMb: 128, diskMb: 256, pids: 64 });
    expect(plan.status).toBe(201);
    const customer = await seedCustomer(panel);
    const res = await panel.api('POST', '/environments', { name: 'deb', templateId: 'debian-nginx', planId: plan.body.id, customerId: customer.customerId, nodeId: abuser.nodeId });
    expect(res.status).toBe(202);
    created.push(res.body.environment.id);
    const op = await waitOperation(panel, res.body.operation.id, 600); // the first build runs debootstrap
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    const env = (await panel.api('GET', `/environments/${res.body.environment.id}`)).body;
    const ep = env.endpoints[0];
    let page = null;
    for (let i = 0; i < 20 && page?.status !== 200; i++, await sleep(250)) page = await httpGet(`http://${ep.host}:${ep.port}/`);
    expect(page?.status).toBe(200);
    expect(page?.body).toContain('Debian + nginx');
    const c = await inspect(node(), containerName(env.id));
    expect(c.HostConfig.StorageOpt).toEqual({ size: String(256 * MIB) });
    const imageBytes = Number((await docker(node(), 'image', 'inspect', '--format', '{{.Size}}', c.Image)).trim());
    const written = await fillDisk(containerName(env.id), '/var/www/html', 400);
    log(`debian-nginx: image ${imageBytes} bytes + written ${written} bytes = ${((imageBytes + written) / MIB).toFixed(1)} MiB of 256`);
    expect(written).toBeLessThan(256 * MIB);
  }, 700_000);
});
