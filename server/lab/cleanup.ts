// Finding what earlier runs left behind and removing it. Namespaces, links, mounts and loop
// devices outlive the processes of a session, so every piece is looked for independently.
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pool } from './exec.js';
import { listNetns, listVeths, destroyNetwork, removeForwardGuard } from './netns.js';
import { detachLoopsUnder, destroyStorage, listLoops, mountPoints, unmountAll } from './storage.js';
import { cgroupIndices, killNodeProcesses, removeNodeCgroups } from './procs.js';
import { isUnder, MAX_NODES, NETNS_PREFIX, nodePaths, RUN_ROOT, type NodePaths } from './paths.js';

async function numericEntries(dir: string): Promise<number[]> {
  try {
    return (await readdir(dir))
      .filter((n) => /^[1-9][0-9]{0,2}$/.test(n))
      .map(Number)
      .filter((n) => n <= MAX_NODES);
  } catch {
    return [];
  }
}

/** First path component below root, as a node index ("…/nodes/7/data" → 7). */
function indexBelow(p: string, root: string): number | null {
  if (!isUnder(p, root) || p === root) return null;
  const first = p.slice(root.length + 1).split('/')[0] ?? '';
  if (!/^[1-9][0-9]{0,2}$/.test(first)) return null;
  const n = Number(first);
  return n <= MAX_NODES ? n : null;
}

/** Every node index for which anything exists on this machine: dirs, netns, links, mounts, loops. */
export async function discoverIndices(dir: string): Promise<number[]> {
  const nodesRoot = path.join(dir, 'nodes');
  const found = new Set<number>([
    ...(await numericEntries(nodesRoot)),
    ...(await numericEntries(RUN_ROOT)),
    ...(await listNetns()).keys(),
    ...(await listVeths()).keys(),
    ...(await cgroupIndices(NETNS_PREFIX)),
  ]);
  for (const m of await mountPoints()) {
    const i = indexBelow(m, nodesRoot) ?? indexBelow(m, RUN_ROOT);
    if (i !== null) found.add(i);
  }
  for (const l of await listLoops()) {
    const i = indexBelow(l.backFile, nodesRoot);
    if (i !== null) found.add(i);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Removes every trace of one node, in dependency order: processes hold mounts and the
 * namespace, mounts hold the loop device, the loop device holds the disk file.
 */
export async function teardownNode(p: NodePaths): Promise<void> {
  await killNodeProcesses(p);
  await removeNodeCgroups(p);
  await destroyStorage(p);
  await destroyNetwork(p);
}

/** Removes the whole lab: all nodes found, then the shared files (CA, images) and run root. */
export async function teardownLab(dir: string): Promise<number[]> {
  if (dir.split('/').filter(Boolean).length < 2) throw new Error(`refusing to delete lab dir ${dir}`);
  const indices = await discoverIndices(dir);
  const results = await pool(indices, 8, (i) => teardownNode(nodePaths(dir, i)));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  await removeStaleShimSockets();
  // Mounts or loops with names outside the numbered layout (hand-made, older versions).
  await unmountAll([dir, RUN_ROOT]);
  await detachLoopsUnder([dir]);
  await removeForwardGuard();
  if (errors.length > 0) throw new Error(`lab teardown incomplete:\n${errors.join('\n')}`);
  await rm(dir, { recursive: true, force: true });
  await rm(RUN_ROOT, { recursive: true, force: true });
  return indices;
}

/** True when nothing accepts connections on the unix socket any more. */
function isStaleSocket(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    sock.setTimeout(1000);
    sock.on('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT'));
  });
}

/**
 * containerd puts every shim's socket in /run/containerd/s whatever its own state dir, so
 * killed nodes leave dead sockets there. Only sockets nobody listens on are removed, which
 * leaves any other containerd on the machine alone.
 */
export async function removeStaleShimSockets(): Promise<void> {
  const dir = '/run/containerd/s';
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await pool(names, 16, async (n) => {
    const file = path.join(dir, n);
    if (await isStaleSocket(file)) await unlink(file).catch(() => undefined);
  });
}

const OWNER_FILE = path.join(RUN_ROOT, 'owner');

/**
 * Node names, addresses and /run paths are machine-wide, so only one lab dir can own them.
 * Returns the dir recorded by the last labUp, if any.
 */
export async function labOwner(): Promise<string | null> {
  try {
    return (await readFile(OWNER_FILE, 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

/** Claims the machine's lab slots for dir, refusing while another dir's lab still exists. */
export async function claimOwnership(dir: string): Promise<void> {
  const owner = await labOwner();
  if (owner !== null && owner !== dir && (await discoverIndices(owner)).length > 0) {
    throw new Error(`a lab from ${owner} exists on this machine; remove it first (labDown({ dir: '${owner}' }))`);
  }
  await mkdir(RUN_ROOT, { recursive: true, mode: 0o700 });
  await writeFile(OWNER_FILE, `${dir}\n`);
}
