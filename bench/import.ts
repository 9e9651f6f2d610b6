/**
 * Server imports on a real lab node, against the plain way of copying the same files, in one
 * run. The panel runs as its own process (as `npm start`); this process only calls its API,
 * runs the baseline and writes the source's data. The source is the lab's legacy server
 * (server/lab/legacy.ts), holding for the run 500 MiB more in 20,000 files of random bytes
 * under /srv/bench (100 folders of 200; sizes log-uniform from a fixed seed, about 200 B to
 * 180 KiB, scaled to sum to 500 MiB), written from the host into its root filesystem and
 * synced to disk before round 1; the folder is removed at the end. Each round, timed:
 * 1. an import: POST /imports (its preflight answered inside the POST, a new environment of
 *    the `imported` template provisioned, the copy, the adaptation, the start, the checks)
 *    until the import operation succeeds, against the plain way of copying the same tree:
 *    OpenSSH's `ssh` (a throwaway key, the client's default cipher) running the same `tar`
 *    command on the source with the same excludes (MACHINE, exported by the import handler, and the device nodes the
 *    preflight found), piped into `docker cp - <container>:/` over the node's TLS, into a
 *    stopped container made (not timed) from the image of the import's environment on the
 *    same node. The order of the two alternates between rounds.
 *    Target: import / baseline <= 1.3 (ratio of medians).
 * 2. a refresh after 1% of the files (200, spread over the folders) got new random bytes of
 *    their size: POST /environments/{id}/import/refresh until its operation succeeds,
 *    against the round's import. Each changed file's sha256 in the environment is then
 *    checked against the source's.
 * Before round 1 the tar stream is measured once (ssh | wc -c) to show that both copies move
 * the same bytes as the import reports, and one environment of the `imported` template is made
 * and deleted (not timed) so the template's image exists on the node.
 * Run: flock /tmp/kura-lab.lock npm run bench:import   (KURA_BENCH_ROUNDS, default 5)
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storedPanelId } from '../server/db/connection.js';
import { containerName } from '../server/docker/container-spec.js';
import { removeLabelledContainers } from '../server/lab/containers.js';
import { run } from '../server/lab/exec.js';
import { dockerCliArgs, labUp, nodeBody } from '../server/lab/lab.js';
import { legacyUp, type LegacyHost } from '../server/lab/legacy.js';
import { shellWord } from '../server/sources/ssh.js';
import { logUniformSizes, percentile } from './figures.js';
import { benchApi } from './http.js';
import { freePort, spawnPanelProcess } from './panel.js';
import { MACHINE } from '../server/operations/handlers/imports.js';

const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 5);
const MIB = 1048576;
const TOTAL = 500 * MIB;
const FOLDERS = 100;
const PER_FOLDER = 200;
const FILES = FOLDERS * PER_FOLDER;
/** Every 100th file changes before a refresh: 1%. */
const CHANGE_EVERY = 100;
const BENCH_DIR = 'srv/bench';
const TOKEN = 'import-bench-admin-token-0123456789';
const BASELINE_LABEL = 'io.kura.bench=import-baseline';
const EMPTY_IMAGE = 'kura-bench-import-empty:1';

interface Operation { id: string; kind: string; status: string; message: string; error: { message: string } | null; result?: any }
interface Environment { id: string; state: string }

const median = (xs: number[]) => percentile(xs, 0.5);


const relPath = (i: number) => `${BENCH_DIR}/d${String(i % FOLDERS).padStart(2, '0')}/f${String(i).padStart(5, '0')}.bin`;

/**
 * What the bench adds to the legacy server's root filesystem (the data folder, a key in
 * root's authorized_keys) and takes back afterwards, the parent folders' times included, so
 * the source stays as the tests expect it. Synchronous, so a signal handler can run it.
 */
function sourceChanges(legacy: LegacyHost, publicKey: string): { undo(): void } {
  const root = legacy.rootfs;
  const sshDir = path.join(root, 'root/.ssh');
  const keys = path.join(sshDir, 'authorized_keys');
  const times = (p: string) => { const st = fs.statSync(p); return { p, atime: st.atime, mtime: st.mtime }; };
  const kept = [times(path.join(root, 'srv')), times(path.join(root, 'root'))];
  const hadDir = fs.existsSync(sshDir);
  const hadKeys = hadDir && fs.existsSync(keys);
  if (hadDir) kept.push(times(sshDir));
  const before = hadKeys ? fs.readFileSync(keys) : null;
  const keysMode = hadKeys ? fs.statSync(keys).mode & 0o777 : 0o600;
  fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  fs.appendFileSync(keys, `${before && before.length > 0 && !before.toString().endsWith('\n') ? '\n' : ''}${publicKey.trim()}\n`, { mode: 0o600 });
  let undone = false;
  return {
    undo() {
      if (undone) return;
      undone = true;
      fs.rmSync(path.join(root, BENCH_DIR), { recursive: true, force: true });
      if (!hadDir) fs.rmSync(sshDir, { recursive: true, force: true });
      else if (before === null) fs.rmSync(keys, { force: true });
      else { fs.writeFileSync(keys, before); fs.chmodSync(keys, keysMode); }
      for (const t of kept) fs.utimesSync(t.p, t.atime, t.mtime);
    },
  };
}

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 1 });
  const node = lab.nodes.find((n) => n.index === 1)!;
  const docker = dockerCliArgs(node);
  const legacy = await legacyUp();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-import-bench-'));
  const key = path.join(tmp, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kura-import-bench', '-f', key]);
  const source = sourceChanges(legacy, fs.readFileSync(`${key}.pub`, 'utf8'));
  const onSignal = (signal: NodeJS.Signals) => {
    source.undo();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const dataDir = path.join(tmp, 'panel');
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const { api, call } = benchApi(`http://127.0.0.1:${port}`, TOKEN);
  let panel: Awaited<ReturnType<typeof spawnPanelProcess>> | undefined;
  let panelId: string | undefined;

  /** Waits for an operation to end; anything but success throws with its error. */
  const finished = async (id: string): Promise<Operation> => {
    for (;;) {
      const op = await api('GET', `/operations/${id}/wait?timeout=60`) as Operation;
      // The wait answers without `result`; the operation's own GET has it.
      if (op.status === 'succeeded') return await api('GET', `/operations/${id}`) as Operation;
      if (op.status !== 'queued' && op.status !== 'running') throw new Error(`operation ${op.kind} ${op.status}: ${op.error?.message}`);
    }
  };
  const dockerRun = async (...args: string[]) => (await run('docker', [...docker, ...args], { timeoutMs: 600_000 })).stdout.trim();
  const ssh = ['ssh', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', '-p', String(legacy.port), `${legacy.user}@${legacy.host}`];
  /** Polls an operation every 100 ms until stopped: when each message's first word was first seen. */
  const phases = (id: string): { stop(): Promise<Map<string, number>> } => {
    const seen = new Map<string, number>();
    let stopping = false;
    const loop = (async () => {
      while (!stopping) {
        const res = await call('GET', `/operations/${id}`);
        const word = String(res.body?.message ?? '').split(/[\s:]/)[0]!;
        if (word && !seen.has(word)) seen.set(word, performance.now());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return { async stop() { stopping = true; await loop; return seen; } };
  };
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  try {
    // The data, written before the panel starts and synced: at rest, as a server's mostly is.
    const sizes = logUniformSizes(FILES, 1024, MIB, TOTAL);
    for (let d = 0; d < FOLDERS; d++) fs.mkdirSync(path.join(legacy.rootfs, BENCH_DIR, `d${String(d).padStart(2, '0')}`), { recursive: true });
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(legacy.rootfs, relPath(i)), randomBytes(sizes[i]!));
    await run('sync', []);

    panel = await spawnPanelProcess({ dataDir, token: TOKEN, port });
    panelId = storedPanelId(path.join(dataDir, 'kura.db'));
    const nodeId = (await api('POST', '/nodes', nodeBody(node))).id as string;
    const plan = await api('POST', '/plans', { name: 'bench-import', cpus: 1, memoryMb: 256, diskMb: 4096, pids: 128 });
    const customer = await api('POST', '/customers', { name: 'Bench imports', email: 'bench-import@example.com' });
    const login = { type: 'ssh', host: legacy.host, port: legacy.port, user: legacy.user, password: legacy.password };

    // The same tar command the import runs on the source, with the same excludes.
    const preflight = await finished((await api('POST', '/imports/preflight', { source: login, planId: plan.id })).operation.id);
    const devices = (preflight.result?.facts?.devices ?? []) as string[];
    const excludes = [...MACHINE, ...devices].map((p) => `--exclude=${shellWord(`.${p}`)}`).join(' ');
    // tar's 1 (a file changed while read: the source is live) is not a failure, as in the import.
    const tar = `tar -C / --numeric-owner --one-file-system --sparse -cpf - ${excludes} .; r=$?; [ $r -le 1 ] || exit $r`;
    const streamBytes = Number((await run('bash', ['-o', 'pipefail', '-c', '"$@" | wc -c', 'bash', ...ssh, tar], { timeoutMs: 600_000 })).stdout.trim());

    // The imported template's image on the node (made by its first environment there): not timed.
    const warm = await api('POST', '/environments', { name: 'warm-up', templateId: 'imported', planId: plan.id, customerId: customer.id, nodeId });
    await finished(warm.operation.id);
    await finished((await api('DELETE', `/environments/${warm.environment.id}`)).operation.id);
    // The baseline's container: of an empty image, since `docker cp` refuses to replace a directory with a
    // non-directory (the template's /sbin with Debian's symlink to usr/sbin), which the archive API the import calls allows.
    await run('bash', ['-o', 'pipefail', '-c', `tar -cf - -T /dev/null | ${['docker', ...docker, 'import', '-', EMPTY_IMAGE].map(shellWord).join(' ')}`]);

    const f = { imports: [] as number[], baselines: [] as number[], refreshes: [] as number[] };
    const copied: number[] = [];
    const steps = { preflight: [] as number[], provision: [] as number[], copy: [] as number[], start: [] as number[], checks: [] as number[] };
    let refreshMissing: string | null = null;
    console.log(`import benchmark: node ${node.name}, source ${legacy.host} (the lab's legacy server) with ${TOTAL / MIB} MiB more in ${FILES} files`
      + ` (${(Math.min(...sizes) / 1024).toFixed(1)} KiB to ${(Math.max(...sizes) / 1024).toFixed(0)} KiB) of random bytes under /${BENCH_DIR}; ${ROUNDS} rounds;`
      + ` the tar stream is ${(streamBytes / MIB).toFixed(0)} MiB (excluding ${[...MACHINE, ...devices].join(' ')})`);
    for (let round = 0; round < ROUNDS; round++) {
      const baselineName = `kura-bench-import-baseline-${round + 1}`;
      await dockerRun('create', '--name', baselineName, '--label', BASELINE_LABEL, EMPTY_IMAGE, '/none');
      const baselineCopy = async () => {
        const t0 = performance.now();
        const cp = ['docker', ...docker, 'cp', '-', `${baselineName}:/`].map(shellWord).join(' ');
        await run('bash', ['-o', 'pipefail', '-c', `"$@" | ${cp}`, 'bash', ...ssh, tar], { timeoutMs: 600_000 });
        return performance.now() - t0;
      };
      const importRun = async () => {
        const t0 = performance.now();
        const r = await api('POST', '/imports', { source: login, name: `import-${round + 1}`, customerId: customer.id, planId: plan.id, nodeId });
        const answered = performance.now() - t0;
        const watch = phases(r.operation.id);
        const op = await finished(r.operation.id);
        const ms = performance.now() - t0;
        const seen = await watch.stop();
        // When each step of the operation was first seen (polled every 100 ms), from the POST.
        const at = (word: string) => (seen.get(word) ?? NaN) - t0;
        const steps = { preflight: answered, provision: at('stopping') - answered, copy: at('adapting') - at('copying'),
          start: at('starting') - at('adapting'), checks: ms - at('starting') };
        return { ms, op, env: r.environment as Environment, steps };
      };
      let baseMs = 0;
      if (round % 2 === 1) baseMs = await baselineCopy();
      const imported = await importRun();
      if (round % 2 === 0) baseMs = await baselineCopy();
      await dockerRun('rm', '-f', baselineName);
      copied.push(imported.op.result?.copiedBytes ?? NaN);
      const env = imported.env;
      const inEnv = (...cmd: string[]) => dockerRun('exec', containerName(env.id), ...cmd);

      // 1% of the files change (new random bytes, same sizes); then a refresh.
      const changed = Array.from({ length: FILES / CHANGE_EVERY }, (_, k) => k * CHANGE_EVERY + (round % CHANGE_EVERY));
      const digests = new Map<string, string>();
      for (const i of changed) {
        const data = randomBytes(sizes[i]!);
        fs.writeFileSync(path.join(legacy.rootfs, relPath(i)), data);
        digests.set(`/${relPath(i)}`, sha(data));
      }
      await run('sync', []);
      let refresh = '';
      if (refreshMissing === null) {
        const t0 = performance.now();
        const res = await call('POST', `/environments/${env.id}/import/refresh`, {});
        if (res.status === 404 && String(res.body?.error?.message ?? '').startsWith('no route')) {
          refreshMissing = `POST /environments/{id}/import/refresh answered 404: ${JSON.stringify(res.body)}`;
        } else if (res.status !== 202) {
          throw new Error(`refresh: ${res.status} ${JSON.stringify(res.body)}`);
        } else {
          const op = await finished(res.body.operation.id);
          const ms = performance.now() - t0;
          const list = [...digests.keys()];
          const seen = new Map((await inEnv('sha256sum', ...list)).split('\n').map((l) => { const [h, p] = l.trim().split(/\s+/); return [p!, h!]; }));
          const wrong = list.filter((p) => seen.get(p) !== digests.get(p));
          if (wrong.length > 0) throw new Error(`after the refresh ${wrong.length} of the ${list.length} changed files differ from the source's (e.g. ${wrong[0]})`);
          f.refreshes.push(ms);
          refresh = `; refresh after ${changed.length} files changed ${ms.toFixed(0)} ms (${(100 * ms / imported.ms).toFixed(1)}% of the import;`
            + ` copied ${((op.result?.copiedBytes ?? NaN) / MIB).toFixed(1)} MiB; the changed files' sha256 match the source's)`;
        }
      }
      f.imports.push(imported.ms);
      f.baselines.push(baseMs);
      console.log(`  round ${round + 1} (${round % 2 === 1 ? 'baseline first' : 'import first'}): import ${imported.ms.toFixed(0)} ms`
        + ` (copied ${(copied[round]! / MIB).toFixed(0)} MiB; ${imported.op.message}), ssh tar | docker cp ${baseMs.toFixed(0)} ms,`
        + ` ratio ${(imported.ms / baseMs).toFixed(2)}${refresh}`);
      const st = imported.steps;
      console.log(`    the import's steps: POST answered (its preflight) ${st.preflight.toFixed(0)} ms, provisioning ${st.provision.toFixed(0)} ms,`
        + ` the copy ${st.copy.toFixed(0)} ms, adapting ${st.start.toFixed(0)} ms, starting and checking ${st.checks.toFixed(0)} ms`);
      for (const k of Object.keys(steps) as (keyof typeof steps)[]) steps[k].push(st[k]);
      await finished((await api('DELETE', `/environments/${env.id}`)).operation.id);
    }

    const [imp, base] = [median(f.imports), median(f.baselines)];
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(`\nmedians of ${ROUNDS} rounds:`);
    console.log(`1. import of the legacy server (${(median(copied) / MIB).toFixed(0)} MiB copied; the tar stream measured alone: ${(streamBytes / MIB).toFixed(0)} MiB):`
      + ` ${imp.toFixed(0)} ms; ssh tar | docker cp of the same tree: ${base.toFixed(0)} ms`);
    console.log(`   ratio import / baseline: ${(imp / base).toFixed(2)}  (per round ${f.imports.map((x, i) => (x / f.baselines[i]!).toFixed(2)).join(', ')};`
      + ` target <= 1.3 -> ${met(imp / base <= 1.3)})`);
    console.log(`   the import's steps (medians): preflight in the POST ${median(steps.preflight).toFixed(0)} ms, provisioning ${median(steps.provision).toFixed(0)} ms,`
      + ` the copy ${median(steps.copy).toFixed(0)} ms (${(median(steps.copy) / base).toFixed(2)}x the baseline), adapting ${median(steps.start).toFixed(0)} ms,`
      + ` starting and checking ${median(steps.checks).toFixed(0)} ms`);
    if (refreshMissing !== null) console.log(`2. refresh: not measured (${refreshMissing})`);
    else {
      const ref = median(f.refreshes);
      console.log(`2. refresh after 1% of the files changed: ${ref.toFixed(0)} ms = ${(100 * ref / imp).toFixed(1)}% of the import's`
        + ` (per round ${f.refreshes.map((x) => x.toFixed(0)).join(', ')} ms; no target)`);
    }
  } finally {
    if (panel && panel.exitCode === null && panel.signalCode === null) {
      const exited = new Promise((r) => panel!.once('exit', r));
      panel.kill('SIGTERM');
      await exited;
    }
    source.undo();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    fs.rmSync(tmp, { recursive: true, force: true });
    // The lab is shared: this panel's environments and the baseline containers go with it.
    await removeLabelledContainers([node], BASELINE_LABEL);
    if (panelId) await removeLabelledContainers([node], `io.kura.panel=${panelId}`);
    await run('docker', [...docker, 'rmi', '-f', EMPTY_IMAGE]).catch((err: unknown) => console.error(`removing ${EMPTY_IMAGE}:`, err));
  }
}

main().catch((err: unknown) => {
  console.error('import benchmark failed:', err);
  process.exitCode = 1;
});
