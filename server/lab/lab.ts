// The lab: this machine turned into N Docker nodes, each a dockerd in its own network namespace
// with its own btrfs, reachable from the host over mutual TLS at 10.231.N.2:2376.
import { legacyDown } from './legacy.js';
import { readFileSync } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import { ensureLabTls, ensureServerCert } from './certs.js';
import {
  claimOwnership, discoverIndices, labOwner, removeStaleShimSockets, teardownLab, teardownNode,
} from './cleanup.js';
import { clientTls, ping, startDockerd } from './dockerd.js';
import { ensureTools, pool, sleep } from './exec.js';
import { withLabLock } from './lock.js';
import { createNetwork, ensureFleetRouting, ensureForwardGuard, listVeths } from './netns.js';
import { checkIndex, labDir, MAX_NODES, nodePaths, tlsPaths, type LabTlsPaths, type NodePaths } from './paths.js';
import { daemonPids, dockerdPid, killNodeProcesses, procInfo, removeNodeCgroups, signal } from './procs.js';
import { createDisk, isMounted, unmountAll } from './storage.js';

export type LabNodeState = 'running' | 'paused' | 'unresponsive' | 'down';

export interface LabNode {
  name: string;
  index: number;
  address: string;
  hostAddress: string;
  endpoint: string;
  socket: string;
  pid: number | null;
  running: boolean;
  /** running: answers /_ping; paused: SIGSTOPped; unresponsive: alive but silent; down: no dockerd. */
  state: LabNodeState;
  /** CA and client certificate/key for talking to the node. */
  tls: { ca: string; cert: string; key: string };
}

export interface LabStatus {
  dir: string;
  nodes: LabNode[];
}

export interface LabOptions {
  dir?: string;
}

export interface LabUpOptions extends LabOptions {
  nodes: number;
  diskGb?: number;
}

export interface RestartOptions extends LabOptions {
  /** Wipe the node's disk and start empty, as labUp does for dead nodes. Default: keep data. */
  fresh?: boolean;
  diskGb?: number;
}

const DEFAULT_DISK_GB = 8;
/** Nodes built at once: dockerd start-up is CPU-bound and this machine has 2 cores. */
const PARALLEL = 6;

function log(msg: string): void {
  process.stderr.write(`kura-lab: ${msg}\n`);
}

function toLabNode(p: NodePaths, t: LabTlsPaths, pid: number | null, state: LabNodeState): LabNode {
  return {
    name: p.name,
    index: p.index,
    address: p.address,
    hostAddress: p.hostAddress,
    endpoint: p.endpoint,
    socket: p.socket,
    pid,
    running: state === 'running',
    state,
    tls: clientTls(t),
  };
}

async function probe(p: NodePaths, t: LabTlsPaths, timeoutMs: number): Promise<LabNode> {
  const pid = await dockerdPid(p);
  if (pid === null) return toLabNode(p, t, null, 'down');
  if ((await procInfo(pid))?.state === 'T') return toLabNode(p, t, pid, 'paused');
  const ok = await ping(p.address, clientTls(t), timeoutMs);
  return toLabNode(p, t, pid, ok ? 'running' : 'unresponsive');
}

/** Healthy = dockerd alive, answering over TLS with this lab's CA, data root mounted. */
async function isHealthy(p: NodePaths, t: LabTlsPaths): Promise<boolean> {
  const pid = await dockerdPid(p);
  if (pid === null || !(await isMounted(p.dataRoot))) return false;
  if ((await procInfo(pid))?.state === 'T') signal(await daemonPids(p), 'SIGCONT');
  // A node busy starting many containers can be slow to answer; don't destroy it for that.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await ping(p.address, clientTls(t), 3000)) return true;
  }
  return false;
}

async function createNode(p: NodePaths, t: LabTlsPaths, diskGb: number): Promise<void> {
  await mkdir(p.nodeDir, { recursive: true });
  await createNetwork(p);
  await createDisk(p, diskGb);
  await ensureServerCert(t, p);
  await startDockerd(p, t);
}

/** Returns true when the node had to be (re)built. */
async function ensureNode(p: NodePaths, t: LabTlsPaths, diskGb: number): Promise<boolean> {
  if (await isHealthy(p, t)) return false;
  // Dead or half-made (an earlier run was killed): start from nothing rather than trust it.
  await teardownNode(p);
  log(`${p.name}: creating`);
  await createNode(p, t, diskGb);
  return true;
}

function failures(results: PromiseSettledResult<unknown>[]): string[] {
  return results.flatMap((r) =>
    r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
  );
}

export async function labStatus(opts: LabOptions = {}): Promise<LabStatus> {
  const dir = labDir(opts.dir);
  const t = tlsPaths(dir);
  const indices = await discoverIndices(dir);
  const nodes = await Promise.all(indices.map((i) => probe(nodePaths(dir, i), t, 2000)));
  return { dir, nodes };
}

export async function labUp(opts: LabUpOptions): Promise<LabStatus> {
  const dir = labDir(opts.dir);
  const count = opts.nodes;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(`labUp: nodes must be an integer 1..${MAX_NODES}, got ${String(count)}`);
  }
  const diskGb = opts.diskGb ?? DEFAULT_DISK_GB;
  if (!Number.isInteger(diskGb) || diskGb < 1) throw new Error(`labUp: diskGb must be a positive integer`);
  await ensureTools();
  await withLabLock(async () => {
    await claimOwnership(dir);
    await mkdir(dir, { recursive: true });
    const t = await ensureLabTls(dir);
    const wanted = Array.from({ length: count }, (_, k) => k + 1);
    const results = await pool(wanted, PARALLEL, (i) => ensureNode(nodePaths(dir, i), t, diskGb));
    const errors = failures(results);
    let rebuilt = results.some((r) => r.status !== 'fulfilled' || r.value);
    // Leftovers above N with no live dockerd are garbage from earlier runs; live ones stay.
    const extra = (await discoverIndices(dir)).filter((i) => i > count);
    for (const i of extra) {
      const p = nodePaths(dir, i);
      if ((await dockerdPid(p)) !== null) continue;
      log(`${p.name}: removing leftovers of a dead node`);
      rebuilt = true;
      await teardownNode(p).catch((err: unknown) => errors.push(String(err)));
    }
    if (rebuilt) await removeStaleShimSockets();
    if (errors.length === 0) {
      await ensureForwardGuard();
      for (const i of wanted) await ensureFleetRouting(nodePaths(dir, i));
    }
    if (errors.length > 0) throw new Error(`labUp failed for ${errors.length} node(s):\n${errors.join('\n\n')}`);
  });
  return labStatus({ dir });
}

export async function labDown(opts: LabOptions = {}): Promise<void> {
  const dir = labDir(opts.dir);
  await withLabLock(async () => {
    // The machine-wide parts (namespaces, /run) may belong to a lab made with another dir.
    const owner = await labOwner();
    if (owner !== null && owner !== dir) await teardownLab(owner);
    const removed = await teardownLab(dir);
    await legacyDown();
    if (removed.length > 0) log(`removed ${removed.map((i) => `lab${i}`).join(', ')}`);
  });
}

function paths(index: number, opts: LabOptions): NodePaths {
  return nodePaths(labDir(opts.dir), checkIndex(index));
}

/** SIGSTOP dockerd and its containerd: the node's API hangs, its containers keep running. */
export async function pauseNode(index: number, opts: LabOptions = {}): Promise<void> {
  const p = paths(index, opts);
  const pids = await daemonPids(p);
  if (pids.length === 0) throw new Error(`${p.name} has no running dockerd`);
  signal(pids, 'SIGSTOP');
}

export async function resumeNode(index: number, opts: LabOptions = {}): Promise<void> {
  const p = paths(index, opts);
  const pids = await daemonPids(p);
  if (pids.length === 0) throw new Error(`${p.name} has no running dockerd`);
  signal(pids, 'SIGCONT');
}

/** SIGKILL dockerd (its containerd dies with it); returns once the endpoint is gone. */
export async function killNode(index: number, opts: LabOptions = {}): Promise<void> {
  const p = paths(index, opts);
  const pid = await dockerdPid(p);
  if (pid === null) return;
  signal([pid], 'SIGKILL');
  for (let i = 0; i < 100 && (await dockerdPid(p)) !== null; i++) await sleep(50);
}

async function exists(f: string): Promise<boolean> {
  return access(f).then(
    () => true,
    () => false,
  );
}

/**
 * Brings one node back. A node whose disk and network survive restarts like a rebooted host:
 * leftover processes die, runtime state under /run goes, containers come back per restart policy.
 */
export async function restartNode(index: number, opts: RestartOptions = {}): Promise<LabNode> {
  const dir = labDir(opts.dir);
  const p = nodePaths(dir, checkIndex(index));
  await ensureTools();
  return withLabLock(async () => {
    await claimOwnership(dir);
    await mkdir(dir, { recursive: true });
    const t = await ensureLabTls(dir);
    if (!opts.fresh && (await isHealthy(p, t))) return probe(p, t, 2000);
    const reusable =
      !opts.fresh &&
      (await isMounted(p.dataRoot)) &&
      (await exists(p.netnsFile)) &&
      (await listVeths()).has(index);
    if (reusable) {
      await killNodeProcesses(p);
      await removeNodeCgroups(p);
      await unmountAll([p.runDir]);
      await rm(p.runDir, { recursive: true, force: true });
      await ensureServerCert(t, p);
      await startDockerd(p, t);
    } else {
      await teardownNode(p);
      await createNode(p, t, opts.diskGb ?? DEFAULT_DISK_GB);
    }
    return probe(p, t, 2000);
  });
}

/** A lab node's client certificate, key and CA as PEM text: what POST /nodes and a Docker client take. */
export function nodeTlsPem(node: Pick<LabNode, 'tls'>): { ca: string; cert: string; key: string } {
  const read = (f: string) => readFileSync(f, 'utf8');
  return { ca: read(node.tls.ca), cert: read(node.tls.cert), key: read(node.tls.key) };
}

/** The body of POST /nodes for a lab node. */
export function nodeBody(node: Pick<LabNode, 'name' | 'endpoint' | 'tls'>, extra: Record<string, unknown> = {}) {
  return { name: node.name, endpoint: node.endpoint, tls: nodeTlsPem(node), ...extra };
}

/** Arguments for the docker CLI to reach a node over TLS, e.g. `docker ...args info`. */
export function dockerCliArgs(node: Pick<LabNode, 'tls' | 'endpoint'>): string[] {
  return ['--tlsverify', '--tlscacert', node.tls.ca, '--tlscert', node.tls.cert, '--tlskey', node.tls.key, '-H', node.endpoint];
}

/** The LabNode for an index without probing it (paths and addresses only). */
export function labNodeInfo(index: number, opts: LabOptions = {}): LabNode {
  const dir = labDir(opts.dir);
  return toLabNode(nodePaths(dir, checkIndex(index)), tlsPaths(dir), null, 'down');
}

export { labDir };
