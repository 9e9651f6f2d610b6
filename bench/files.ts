/**
 * Upload speed through the panel's SFTP endpoint against `docker cp` into the same container,
 * and the panel's memory meanwhile. The panel runs as its own process (as `npm start`) with
 * its SFTP endpoint on a loopback port; one static-site environment (plan: 1024 MiB disk) on
 * one lab node receives, in each round, in alternating order:
 * - one file of 100 MiB of random bytes: OpenSSH's `sftp` (batch mode, key login, the client's
 *   default cipher: no -c) against `docker cp` of the same file over the node's TLS;
 * - a tree of 2,000 small files (10 folders x 200 files of 100-4000 random bytes): `put -r`
 *   against `docker cp` of the same folder.
 * Both land owned by the template's user (1000:1000). Each time is a whole client process,
 * its connection set-up included. What arrived is removed (docker exec) after each transfer;
 * in the first round each upload is checked first (the big file's sha256 inside the container
 * against the local one; the tree's file count and bytes), so a broken upload is not timed.
 * The panel's RSS (/proc VmRSS) is sampled every 50 ms during each transfer.
 * Target: SFTP / docker cp <= 3 for the 100 MiB file (ratio of medians). The small files and
 * the memory are printed only (uploads stream: the peak should stay far below +100 MB).
 * Run: flock /tmp/kura-lab.lock npm run bench:files   (KURA_BENCH_ROUNDS, default 3)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storedPanelId } from '../server/db/connection.js';
import { containerName } from '../server/docker/container-spec.js';
import { removeLabelledContainers } from '../server/lab/containers.js';
import { run } from '../server/lab/exec.js';
import { dockerCliArgs, labUp, nodeBody } from '../server/lab/lab.js';
import { percentile } from './figures.js';
import { benchApi } from './http.js';
import { freePort, spawnPanelProcess } from './panel.js';
import { memoryOf } from './proc.js';

const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 3);
const BIG_MB = 100;
const FOLDERS = 10;
const PER_FOLDER = 200;
const TOKEN = 'files-bench-admin-token-0123456789';
const DATA = '/srv/www';
/** The static-site template's user: SFTP writes as it; docker cp keeps the local files' owner (-a would look it up by name and fail). */
const USER = '1000:1000';

const median = (xs: number[]) => percentile(xs, 0.5);

/** Samples a process's RSS every 50 ms until stopped; the peak seen, in MB. */
function sampleRss(pid: number): { stop(): number } {
  let peak = memoryOf(pid).rssMb;
  const timer = setInterval(() => { peak = Math.max(peak, memoryOf(pid).rssMb); }, 50);
  return { stop: () => { clearInterval(timer); return Math.max(peak, memoryOf(pid).rssMb); } };
}

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 1 });
  const node = lab.nodes.find((n) => n.index === 1)!;
  const docker = dockerCliArgs(node);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-files-bench-'));
  const dataDir = path.join(tmp, 'panel');
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const sftpPort = await freePort();
  const { api } = benchApi(`http://127.0.0.1:${port}`, TOKEN);
  const panel = await spawnPanelProcess({ dataDir, token: TOKEN, port, env: { KURA_SFTP_PORT: String(sftpPort) } });
  let panelId: string | undefined;
  try {
    panelId = storedPanelId(path.join(dataDir, 'kura.db'));
    // The payloads: one big file, and a tree of small ones.
    const big = path.join(tmp, 'big.bin');
    const fd = fs.openSync(big, 'w');
    for (let i = 0; i < BIG_MB; i++) fs.writeSync(fd, randomBytes(1048576));
    fs.closeSync(fd);
    const tree = path.join(tmp, 'tree');
    let treeBytes = 0;
    for (let d = 0; d < FOLDERS; d++) {
      fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < PER_FOLDER; f++) {
        const bytes = randomBytes(100 + Math.floor(Math.random() * 3901));
        treeBytes += bytes.length;
        fs.writeFileSync(path.join(tree, `d${d}`, `f${f}.bin`), bytes);
      }
    }
    // Owned as the template's user, so that docker cp lands them as SFTP does (the lab runs as root).
    await run('chown', ['-R', USER, big, tree]);
    const key = path.join(tmp, 'id');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const bigSha = (await run('sha256sum', [big])).stdout.split(' ')[0];

    const nodeRec = await api('POST', '/nodes', nodeBody(node));
    const plan = await api('POST', '/plans', { name: 'bench-files', cpus: 1, memoryMb: 128, diskMb: 1024, pids: 64 });
    const customer = await api('POST', '/customers', { name: 'Bench', email: 'bench-files@example.com' });
    await api('POST', `/customers/${customer.id}/ssh-keys`, { name: 'bench', publicKey: fs.readFileSync(`${key}.pub`, 'utf8').trim() });
    const created = await api('POST', '/environments', { name: 'files', templateId: 'static-site', planId: plan.id, customerId: customer.id, nodeId: nodeRec.id });
    const envId = created.environment.id as string;
    const op = await api('GET', `/operations/${created.operation.id}/wait?timeout=60`);
    if (op.status !== 'succeeded') throw new Error(`provisioning failed: ${op.error?.message}`);
    const container = containerName(envId);

    const sftp = (commands: string) => run('sftp', ['-P', String(sftpPort), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-b', '-', `${envId}@127.0.0.1`],
    { input: `${commands}\n`, timeoutMs: 600_000 });
    const exec = async (cmd: string) => (await run('docker', [...docker, 'exec', '-u', USER, container, 'sh', '-c', cmd])).stdout.trim();
    const dockerCp = (local: string, name: string) => run('docker', [...docker, 'cp', local, `${container}:${DATA}/${name}`], { timeoutMs: 600_000 });

    await sftp('ls'); // the first login opens the panel's file agent; not timed
    const baseline = memoryOf(panel.pid!).rssMb;
    const times = { sftpBig: [] as number[], cpBig: [] as number[], sftpTree: [] as number[], cpTree: [] as number[] };
    const peaks = { big: baseline, tree: baseline };
    const timed = async (into: number[], peak: 'big' | 'tree', fn: () => Promise<unknown>) => {
      const sampler = sampleRss(panel.pid!);
      const t0 = performance.now();
      try {
        await fn();
        into.push(performance.now() - t0);
      } finally {
        peaks[peak] = Math.max(peaks[peak], sampler.stop());
      }
    };
    const checkBig = async (how: string) => {
      const [sha, owner] = (await exec(`sha256sum ${DATA}/big.bin | cut -d' ' -f1; stat -c %u:%g ${DATA}/big.bin`)).split('\n');
      if (sha !== bigSha) throw new Error(`${how}: big.bin in the container has sha256 ${sha}, locally ${bigSha}`);
      return owner;
    };
    const checkTree = async (how: string) => {
      const [count, sum, owner] = (await exec(`find ${DATA}/tree -type f | wc -l; find ${DATA}/tree -type f -exec cat {} + | wc -c; stat -c %u:%g ${DATA}/tree/d0/f0.bin`)).split('\n');
      if (Number(count) !== FOLDERS * PER_FOLDER || Number(sum) !== treeBytes) throw new Error(`${how}: tree in the container has ${count} files, ${sum} bytes`);
      return owner;
    };
    const owners: string[] = [];

    console.log(`files benchmark: node ${node.name}, environment ${envId} (static-site, 1024 MiB disk), ${ROUNDS} rounds, alternating order`);
    for (let round = 0; round < ROUNDS; round++) {
      const sftpFirst = round % 2 === 0;
      for (const via of sftpFirst ? ['sftp', 'docker cp'] : ['docker cp', 'sftp']) {
        if (via === 'sftp') await timed(times.sftpBig, 'big', () => sftp(`put ${big} big.bin`));
        else await timed(times.cpBig, 'big', () => dockerCp(big, 'big.bin'));
        if (round === 0) owners.push(`${via} big ${await checkBig(via)}`);
        await exec(`rm -f ${DATA}/big.bin`);
        if (via === 'sftp') await timed(times.sftpTree, 'tree', () => sftp(`put -r ${tree} tree`));
        else await timed(times.cpTree, 'tree', () => dockerCp(tree, 'tree'));
        if (round === 0) owners.push(`${via} tree ${await checkTree(via)}`);
        await exec(`rm -rf ${DATA}/tree`);
      }
      const last = (xs: number[]) => xs.at(-1)!.toFixed(0);
      console.log(`  round ${round + 1}: 100 MiB sftp ${last(times.sftpBig)} ms, docker cp ${last(times.cpBig)} ms; `
        + `2,000 files sftp ${last(times.sftpTree)} ms, docker cp ${last(times.cpTree)} ms`);
    }
    const [sb, cb, st, ct] = [median(times.sftpBig), median(times.cpBig), median(times.sftpTree), median(times.cpTree)];
    const mbps = (ms: number) => (BIG_MB / (ms / 1000)).toFixed(0);
    console.log(`\nuploads checked after round 1 (sha256 of the big file; count and bytes of the tree); owners: ${owners.join(', ')}`);
    console.log(`100 MiB file:  sftp median ${sb.toFixed(0)} ms (${mbps(sb)} MiB/s), docker cp median ${cb.toFixed(0)} ms (${mbps(cb)} MiB/s)`);
    console.log(`  ratio sftp / docker cp: ${(sb / cb).toFixed(2)}  (target <= 3 -> ${sb / cb <= 3 ? 'met' : 'NOT met'})`);
    console.log(`2,000 files (${(treeBytes / 1048576).toFixed(1)} MiB in ${FOLDERS} folders): sftp median ${st.toFixed(0)} ms, docker cp median ${ct.toFixed(0)} ms`);
    console.log(`  ratio sftp / docker cp: ${(st / ct).toFixed(2)}  (no target)`);
    console.log(`panel RSS: baseline ${baseline.toFixed(0)} MB; peak during the 100 MiB uploads ${peaks.big.toFixed(0)} MB (+${(peaks.big - baseline).toFixed(0)}), `
      + `during the small files ${peaks.tree.toFixed(0)} MB (+${(peaks.tree - baseline).toFixed(0)}); sampled every 50 ms`);

    const del = await api('DELETE', `/environments/${envId}`);
    await api('GET', `/operations/${del.operation.id}/wait?timeout=60`);
  } finally {
    if (panel.exitCode === null && panel.signalCode === null) {
      const exited = new Promise((r) => panel.once('exit', r));
      panel.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    // The lab is shared: whatever this panel left on the node goes with it.
    if (panelId) await removeLabelledContainers([node], `io.kura.panel=${panelId}`);
  }
}

main().catch((err: unknown) => {
  console.error('files benchmark failed:', err);
  process.exitCode = 1;
});
