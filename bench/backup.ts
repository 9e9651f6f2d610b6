/**
 * Environment backups on a real lab node, against the plain way of copying the same files,
 * in one run. The panel runs as its own process (as `npm start`, background loops on, the
 * repository check off so it cannot take the repository in the middle of a figure); this
 * process only calls its API, runs the baselines and probes the site. Each round makes a
 * new customer (so a new, empty restic repository) and a new static-site environment
 * (plan: 1024 MiB disk) that holds 200 MiB of random bytes written with `docker exec`: one
 * 100 MiB file and 100 MiB in 300 files (about 5 KiB to 2.3 MiB) in 10 folders, synced to disk
 * (data at rest, as an environment's mostly is). Then, timed from the POST to the operation
 * succeeding:
 * 1. the first backup (the customer's first; the panel made their repository when the
 *    environment first ran, while the data was being written), against the plain way
 *    of backing the same files up to the panel's machine: `docker exec <container> tar -cf -
 *    -C /srv www` over the node's TLS, piped into the host's `gzip -6` written to a file
 *    beside the panel's repository (restic too sends every byte to the panel, compresses
 *    and writes it). The order of the two alternates between rounds.
 *    Target: backup / tar|gzip <= 1.5 (ratio of medians).
 * 2. a second backup after a new 1 MiB file of random bytes (not synced: freshly written).
 *    Targets: <= 10% of the first's time, and it adds < 5 MB to the repository (addedMb).
 *    Then a third, after 1 MiB rewritten in the middle of the 100 MiB file (printed only:
 *    restic rereads a changed file whole).
 * 3. the longest pause the environment saw: the backups' frozenMs, and a probe that GETs
 *    a page of the site every 20 ms during each backup and reports the longest gap between
 *    two answers (the same probe during tar|gzip shows what the load alone does).
 * 4. a full restore of the first backup (POST /backups/{id}/restore {"target":"same"}),
 *    against the first backup's time; the probe gives the downtime (until the site answers
 *    again), and every file's sha256 must then be those of the first backup.
 * After each round, restic's fixed costs are timed alone on the panel's machine (making a
 * repository; opening one), to show how much of the figures they are.
 * Before round 1 one small backup (not timed) makes the node's backup helper, and the run
 * waits out the backup loop's first pass (a minute after the panel starts).
 * Run: flock /tmp/kura-lab.lock npm run bench:backup   (KURA_BENCH_ROUNDS, default 3)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storedPanelId } from '../server/db/connection.js';
import { BACKUP_LABEL } from '../server/docker/backup-spec.js';
import { containerName } from '../server/docker/container-spec.js';
import { removeLabelledContainers } from '../server/lab/containers.js';
import { run } from '../server/lab/exec.js';
import { dockerCliArgs, labUp, nodeBody } from '../server/lab/lab.js';
import { logUniformSizes, percentile } from './figures.js';
import { benchApi } from './http.js';
import { freePort, spawnPanelProcess } from './panel.js';

const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 3);
const MIB = 1048576;
const BIG_MIB = 100;
const SMALL_FILES = 300;
const SMALL_TOTAL = 100 * MIB;
const PROBE_EVERY_MS = 20;
const TOKEN = 'backup-bench-admin-token-0123456789';
const WWW = '/srv/www';

interface Operation { id: string; kind: string; status: string; message: string; error: { message: string } | null }
interface BackupView { id: string; status: string; sizeMb: number; addedMb: number; frozenMs: number | null }
interface Environment { id: string; state: string; endpoints: { host: string; port: number }[] }

const median = (xs: number[]) => percentile(xs, 0.5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Probes `url` every PROBE_EVERY_MS (one request at a time); stop() waits for one more answer and gives the longest time between two answers. */
function probe(url: string): { firstAnswer: Promise<void>; stop(): Promise<{ longestMs: number; answers: number }> } {
  let stopping = false;
  let last = performance.now();
  let longest = 0;
  let answers = 0;
  let onFirst: () => void = () => {};
  const firstAnswer = new Promise<void>((r) => { onFirst = r; });
  const loop = (async () => {
    // Once stopping, it goes on until the site answers again (at most 60 s): a restore's downtime ends there.
    const deadline = () => stopping && performance.now() - last > 60_000;
    for (;;) {
      const t = performance.now();
      const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(async (r) => { await r.arrayBuffer(); return r.ok; }, () => false);
      if (ok) {
        const now = performance.now();
        if (answers > 0) longest = Math.max(longest, now - last);
        last = now;
        answers++;
        onFirst();
        if (stopping) return;
      }
      if (deadline()) { longest = Math.max(longest, performance.now() - last); return; }
      await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - t)));
    }
  })();
  return { firstAnswer, async stop() { stopping = true; await loop; return { longestMs: longest, answers }; } };
}

/**
 * What restic itself costs before it touches any data, on the panel's machine, timed alone:
 * making a repository (`init`, which calibrates and derives its key; the `unlock` after it is
 * what a panel's first turn on a repository it did not make runs), and opening an existing one (`snapshots`: every
 * restic run derives the key again). The panel runs these same commands (see
 * services/backup-repository.ts); they explain the fixed part of the figures.
 */
async function resticCosts(dir: string): Promise<{ createMs: number; openMs: number }> {
  const repo = path.join(dir, 'restic-alone');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(dir, 'restic-alone-cache') };
  const restic = async (args: string[]) => {
    const t0 = performance.now();
    await run('restic', ['-r', repo, '--quiet', ...args], { env });
    return performance.now() - t0;
  };
  try {
    const createMs = await restic(['init']) + await restic(['unlock', '--remove-all']);
    return { createMs, openMs: await restic(['snapshots', '--json']) };
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
    fs.rmSync(env.RESTIC_CACHE_DIR, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 1 });
  const node = lab.nodes.find((n) => n.index === 1)!;
  const docker = dockerCliArgs(node);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-backup-bench-'));
  const dataDir = path.join(tmp, 'panel');
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const { api } = benchApi(`http://127.0.0.1:${port}`, TOKEN);
  const panelStarted = performance.now();
  const panel = await spawnPanelProcess({ dataDir, token: TOKEN, port, env: { KURA_BACKUP_CHECK_HOURS: '0' } });
  let panelId: string | undefined;

  /** Waits for an operation to end; anything but success throws with its error. */
  const finished = async (id: string): Promise<Operation> => {
    for (;;) {
      const op = await api('GET', `/operations/${id}/wait?timeout=60`) as Operation;
      if (op.status === 'succeeded') return op;
      if (op.status !== 'queued' && op.status !== 'running') throw new Error(`operation ${op.kind} ${op.status}: ${op.error?.message}`);
    }
  };
  const exec = async (envId: string, script: string) =>
    (await run('docker', [...docker, 'exec', containerName(envId), 'sh', '-c', script], { timeoutMs: 600_000 })).stdout.trim();
  /** Every file under the web root with its sha256: what a restore must bring back exactly. */
  const fingerprint = (envId: string) => exec(envId, `cd ${WWW} && find . -type f -exec sha256sum {} + | sort -k2`);

  try {
    panelId = storedPanelId(path.join(dataDir, 'kura.db'));
    const nodeId = (await api('POST', '/nodes', nodeBody(node))).id as string;
    const plan = await api('POST', '/plans', { name: 'bench-backup', cpus: 1, memoryMb: 128, diskMb: 1024, pids: 64 });
    let customers = 0;
    const create = async (name: string): Promise<Environment> => {
      const customer = await api('POST', '/customers', { name: `Bench ${++customers}`, email: `bench-backup-${customers}@example.com` });
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plan.id, customerId: customer.id, nodeId });
      await finished(r.operation.id);
      const env = await api('GET', `/environments/${r.environment.id}`) as Environment;
      await exec(env.id, `echo ok > ${WWW}/probe.html`);
      return env;
    };
    const remove = async (env: Environment) => finished((await api('DELETE', `/environments/${env.id}`)).operation.id);
    /** POSTs, then waits for the operation: the time of both, and the operation. */
    const timed = async (url: string, body: unknown): Promise<{ ms: number; op: Operation; answer: { backup?: BackupView } }> => {
      const t0 = performance.now();
      const answer = await api('POST', url, body);
      const op = await finished(answer.operation.id);
      return { ms: performance.now() - t0, op, answer };
    };
    const backUp = async (env: Environment) => {
      const r = await timed(`/environments/${env.id}/backups`, {});
      return { ms: r.ms, backup: await api('GET', `/backups/${r.answer.backup!.id}`) as BackupView };
    };
    const site = (env: Environment) => `http://${env.endpoints[0]!.host}:${env.endpoints[0]!.port}/probe.html`;
    /** Runs `fn` with the probe on the site; its result and the probe's longest gap. */
    const probed = async <T>(env: Environment, fn: () => Promise<T>): Promise<T & { gapMs: number }> => {
      const p = probe(site(env));
      await p.firstAnswer;
      await sleep(200);
      const r = await fn();
      return { ...r, gapMs: (await p.stop()).longestMs };
    };

    // The node's backup helper is made (and its image loaded) by the first backup on it: not timed.
    const warm = await create('warm-up');
    await backUp(warm);
    await remove(warm);
    const waitMs = 62_000 - (performance.now() - panelStarted);
    if (waitMs > 0) await sleep(waitMs);

    const sizes = logUniformSizes(SMALL_FILES, 4096, 2 * MIB, SMALL_TOTAL);
    const fill = [`set -e; head -c ${BIG_MIB * MIB} /dev/urandom > ${WWW}/big.bin`,
      ...Array.from({ length: 10 }, (_, d) => `mkdir -p ${WWW}/data/d${d}`),
      ...sizes.map((size, i) => `head -c ${size} /dev/urandom > ${WWW}/data/d${i % 10}/f${i}.bin`), 'sync'].join('\n');
    const baseline = path.join(tmp, 'baseline.tar.gz');

    const f = { first: [] as number[], tar: [] as number[], second: [] as number[], inPlace: [] as number[], restore: [] as number[],
      added: [] as number[], inPlaceAdded: [] as number[], create: [] as number[], open: [] as number[],
      frozen: [] as number[], gap: [] as number[], tarGap: [] as number[], down: [] as number[] };
    console.log(`backup benchmark: node ${node.name}, static-site environments (1024 MiB disk), ${ROUNDS} rounds; `
      + `each holds ${BIG_MIB} MiB in one file and ${SMALL_TOTAL / MIB} MiB in ${SMALL_FILES} files (${(Math.min(...sizes) / 1024).toFixed(0)} KiB`
      + ` to ${(Math.max(...sizes) / MIB).toFixed(1)} MiB) of random bytes; probe every ${PROBE_EVERY_MS} ms`);
    for (let round = 0; round < ROUNDS; round++) {
      const env = await create(`round-${round + 1}`);
      await exec(env.id, fill);
      const before = await fingerprint(env.id);
      const tarGzip = () => probed(env, async () => {
        const t0 = performance.now();
        await run('bash', ['-o', 'pipefail', '-c', 'out=$1; shift; "$@" | gzip -6 > "$out"', 'bash', baseline,
          'docker', ...docker, 'exec', containerName(env.id), 'tar', '-cf', '-', '-C', '/srv', 'www'], { timeoutMs: 600_000 });
        const ms = performance.now() - t0;
        fs.rmSync(baseline);
        return { ms };
      });
      let tar: { ms: number; gapMs: number } | undefined;
      if (round % 2 === 1) tar = await tarGzip();
      const first = await probed(env, () => backUp(env));
      if (round % 2 === 0) tar = await tarGzip();
      await exec(env.id, `head -c ${MIB} /dev/urandom > ${WWW}/new.bin`);
      const second = await probed(env, () => backUp(env));
      await exec(env.id, `dd if=/dev/urandom of=${WWW}/big.bin bs=${MIB} seek=${BIG_MIB / 2} count=1 conv=notrunc 2>/dev/null`);
      const inPlace = await probed(env, () => backUp(env));
      const restore = await probed(env, () => timed(`/backups/${first.backup.id}/restore`, { target: 'same' }));
      const state = (await api('GET', `/environments/${env.id}`) as Environment).state;
      if (state !== 'running') throw new Error(`after the restore the environment is ${state}`);
      if (await fingerprint(env.id) !== before) throw new Error('after the restore the files are not those of the first backup');

      f.first.push(first.ms); f.tar.push(tar!.ms); f.second.push(second.ms); f.inPlace.push(inPlace.ms); f.restore.push(restore.ms);
      f.added.push(second.backup.addedMb); f.inPlaceAdded.push(inPlace.backup.addedMb);
      f.frozen.push(Math.max(...[first, second, inPlace].map((b) => b.backup.frozenMs ?? 0)));
      f.gap.push(Math.max(first.gapMs, second.gapMs, inPlace.gapMs)); f.tarGap.push(tar!.gapMs); f.down.push(restore.gapMs);
      const ms = (x: number) => `${x.toFixed(0)} ms`;
      console.log(`  round ${round + 1} (${round % 2 === 1 ? 'tar|gzip first' : 'backup first'}): first backup ${ms(first.ms)} (${first.backup.sizeMb} MiB,`
        + ` added ${first.backup.addedMb}), tar|gzip ${ms(tar!.ms)}; +1 MiB file ${ms(second.ms)} (added ${second.backup.addedMb} MiB);`
        + ` 1 MiB rewritten ${ms(inPlace.ms)} (added ${inPlace.backup.addedMb} MiB); restore ${ms(restore.ms)}`);
      console.log(`    frozen ${[first, second, inPlace].map((b) => b.backup.frozenMs).join('/')} ms; probe's longest gap ${[first, second, inPlace].map((b) => ms(b.gapMs)).join('/')}`
        + ` (tar|gzip ${ms(tar!.gapMs)}); restore down ${ms(restore.gapMs)}; files after the restore: same sha256 as the first backup's`);
      await remove(env);
      const costs = await resticCosts(tmp);
      f.create.push(costs.createMs); f.open.push(costs.openMs);
    }

    const [first, tar, second, inPlace, restore] = [f.first, f.tar, f.second, f.inPlace, f.restore].map(median) as [number, number, number, number, number];
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const ratios = f.first.map((x, i) => x / f.tar[i]!);
    console.log(`\nmedians of ${ROUNDS} rounds:`);
    console.log(`1. first backup of 200 MiB: ${first.toFixed(0)} ms; tar | gzip -6 of the same files: ${tar.toFixed(0)} ms`);
    console.log(`   ratio backup / tar|gzip: ${(first / tar).toFixed(2)}  (per round ${ratios.map((r) => r.toFixed(2)).join(', ')}; target <= 1.5 -> ${met(first / tar <= 1.5)})`);
    const making = median(f.create);
    console.log(`   (making a customer's repository, restic init, timed alone: ${making.toFixed(0)} ms; the panel does it when`
      + ' their environment first runs, not in the backup)');
    console.log(`2. second backup after a new 1 MiB file: ${second.toFixed(0)} ms = ${(100 * second / first).toFixed(1)}% of the first's (target <= 10% -> ${met(second / first <= 0.1)});`
      + ` added ${f.added.join(', ')} MiB (target < 5 MB -> ${met(Math.max(...f.added) * MIB < 5e6)})`);
    console.log(`   after 1 MiB rewritten inside the 100 MiB file: ${inPlace.toFixed(0)} ms = ${(100 * inPlace / first).toFixed(1)}% of the first's; added ${f.inPlaceAdded.join(', ')} MiB (no target)`);
    console.log(`   each restic run opens the repository (its key derived anew), timed alone: ${median(f.open).toFixed(0)} ms;`
      + ' a backup runs restic once (on the node; the panel verifies it by the snapshot\'s file in the repository)');
    console.log(`3. longest pause: frozenMs median ${median(f.frozen)} ms (max ${Math.max(...f.frozen)} ms, over all backups);`
      + ` probe's longest gap during the backups median ${median(f.gap).toFixed(0)} ms (max ${Math.max(...f.gap).toFixed(0)} ms);`
      + ` during tar|gzip median ${median(f.tarGap).toFixed(0)} ms`);
    console.log(`4. full restore: ${restore.toFixed(0)} ms = ${(restore / first).toFixed(2)}x the first backup (no target);`
      + ` the site was down ${median(f.down).toFixed(0)} ms (median)`);
  } finally {
    if (panel.exitCode === null && panel.signalCode === null) {
      const exited = new Promise((r) => panel.once('exit', r));
      panel.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    // The lab is shared: this panel's environments and its backup helper go with it.
    if (panelId) {
      await removeLabelledContainers([node], `io.kura.panel=${panelId}`);
      await removeLabelledContainers([node], `${BACKUP_LABEL}=${panelId}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error('backup benchmark failed:', err);
  process.exitCode = 1;
});
