import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { BACKUP_LABEL, backupContainer, backupSpec } from '../docker/backup-spec.js';
import { dropSnapshots, listSnapshots, runRestic, snapshotLayer, wipeLayer, type ResticPlace } from '../docker/backup-agent.js';
import type { Backup } from '../domain/backups.js';
import { KuraError, errorMessage } from '../lib/errors.js';
import { FairQueue, QueueRefusal } from '../lib/fair-queue.js';
import { backupImage } from '../templates/panel-images.js';
import type { Context } from '../core/context.js';
import { repositoryOf, resticStream, restic, serveRepository, storedSnapshot, withRepository, type Repository } from './backup-repository.js';

/**
 * The work behind backups and restores on a node: the helper container, the instant
 * snapshot of an environment's layer, and restic runs through the helper. The operations
 * (operations/handlers/backups.ts) put these steps in order.
 */

/**
 * Backups take turns, so a schedule that makes every environment due at once never runs a
 * thousand restic processes: at most BACKUPS_AT_ONCE in the panel and BACKUPS_PER_NODE on a
 * node, shared fairly between customers (one each at a time), so one customer's many
 * environments queue behind each other and never in front of another customer's.
 */
const BACKUPS_AT_ONCE = 4;
const BACKUPS_PER_NODE = 2;
const WAITING_PER_CUSTOMER = 200;
const MAX_WAIT_MS = 12 * 3600_000;
const slots = new WeakMap<Context, { panel: FairQueue; nodes: Map<string, FairQueue> }>();

export async function backupTurn(ctx: Context, nodeId: string, customerId: string): Promise<() => void> {
  let s = slots.get(ctx);
  if (!s) {
    s = { panel: new FairQueue({ slots: BACKUPS_AT_ONCE, share: 1, waitingPerTenant: WAITING_PER_CUSTOMER }), nodes: new Map() };
    slots.set(ctx, s);
  }
  let node = s.nodes.get(nodeId);
  if (!node) {
    node = new FairQueue({ slots: BACKUPS_PER_NODE, share: 1, waitingPerTenant: WAITING_PER_CUSTOMER });
    s.nodes.set(nodeId, node);
  }
  try {
    const releaseNode = await node.acquire(customerId, MAX_WAIT_MS);
    try {
      const releasePanel = await s.panel.acquire(customerId, MAX_WAIT_MS);
      return () => { releasePanel(); releaseNode(); };
    } catch (err) {
      releaseNode();
      throw err;
    }
  } catch (err) {
    if (err instanceof QueueRefusal) {
      throw new KuraError('rate_limited', err.reason === 'queue_full' ? 'too many of this customer\'s backups are already waiting; try again later'
        : 'this backup waited too long for its turn; it will be taken at the next schedule, or start it again');
    }
    throw err;
  }
}

/** The node's backup helper, made or brought up to date and running; answers its container id. */
export async function ensureHelper(ctx: Context, nodeId: string): Promise<string> {
  const node = ctx.repos.nodes.get(nodeId);
  if (!node) throw new KuraError('not_found', 'the node was removed');
  const client = ctx.nodes.get(nodeId);
  const facts = await client.facts();
  if (facts.storageDriver !== 'btrfs') {
    throw new KuraError('conflict', `backups need a node whose Docker stores containers on btrfs (to snapshot them in an instant); ${node.name} uses ${facts.storageDriver}`);
  }
  const image = await backupImage(ctx.config.imageCacheDir);
  let current = await client.inspect(backupContainer(ctx.panelId));
  if (current && current.labels[BACKUP_LABEL] !== ctx.panelId) {
    throw new KuraError('conflict', `a container named ${backupContainer(ctx.panelId)} that is not this panel's backup helper holds ${node.name}; remove it to take backups there`);
  }
  if (current && current.imageId !== image.imageId) {
    await client.remove(current.id);
    current = null;
  }
  if (!current) {
    await client.ensureImage(image);
    try {
      await client.createContainer(backupSpec(image.imageId, ctx.panelId, facts.dockerRootDir));
    } catch (err) {
      // Two backups on a fresh node make it at once: the second finds the first's.
      if (!(err instanceof KuraError && err.code === 'conflict')) throw err;
    }
    current = await client.inspect(backupContainer(ctx.panelId));
    if (!current) throw new KuraError('internal', 'the backup helper vanished right after it was made');
  }
  if (!current.running) await client.start(current.id);
  return current.id;
}

/**
 * Captures the container's state: frozen (every process stopped by the cgroup freezer) only
 * while btrfs takes a read-only snapshot of its layer, an instant whatever its size. Answers
 * how long it was frozen. A stopped container is not frozen: nothing writes to it.
 */
/**
 * A backup's snapshot on its node is named after the panel too: panels sharing a node (a
 * test lab) never take each other's for stale.
 */
const snapshotName = (ctx: Context, backupId: string): string => `${ctx.panelId}-${backupId}`;

export async function captureState(ctx: Context, nodeId: string, helperId: string, containerId: string, backupId: string): Promise<number | null> {
  const client = ctx.nodes.get(nodeId);
  const snapshot = snapshotName(ctx, backupId);
  const state = await client.inspect(containerId);
  if (!state) throw new KuraError('conflict', 'the environment\'s container is missing on its node');
  if (!state.running) {
    await snapshotLayer(client.backupNode(), helperId, containerId, snapshot);
    return null;
  }
  const started = performance.now();
  await client.pause(containerId);
  try {
    await snapshotLayer(client.backupNode(), helperId, containerId, snapshot);
  } finally {
    await thaw(ctx, nodeId, containerId);
  }
  return Math.round(performance.now() - started);
}

/** Unfreezes a container, trying a few times: an environment must never stay frozen because of a backup. */
export async function thaw(ctx: Context, nodeId: string, containerId: string): Promise<void> {
  const client = ctx.nodes.get(nodeId);
  for (let attempt = 0; ; attempt++) {
    try {
      await client.unpause(containerId);
      return;
    } catch (err) {
      // Not paused (or gone): nothing to thaw.
      if ((err instanceof KuraError && (err.code === 'conflict' || err.code === 'not_found')) || /is not paused|no such container/i.test(errorMessage(err))) return;
      if (attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}

export async function dropSnapshot(ctx: Context, nodeId: string, helperId: string, backupId: string): Promise<void> {
  await dropSnapshots(ctx.nodes.get(nodeId).backupNode(), helperId, [snapshotName(ctx, backupId)]);
}

/** Snapshots on a node that no running backup owns (left by a crash): removed. */
export async function dropStaleSnapshots(ctx: Context, nodeId: string): Promise<number> {
  const client = ctx.nodes.get(nodeId);
  const helper = await client.inspect(backupContainer(ctx.panelId));
  if (!helper?.running || helper.labels[BACKUP_LABEL] !== ctx.panelId) return 0;
  const running = new Set(ctx.repos.backups.running().map((b) => snapshotName(ctx, b.id)));
  const stale = (await listSnapshots(client.backupNode(), helper.id)).filter((s) => s.startsWith(`${ctx.panelId}-`) && !running.has(s));
  if (stale.length > 0) await dropSnapshots(client.backupNode(), helper.id, stale);
  return stale.length;
}

export interface BackupSummary {
  snapshotId: string;
  sizeBytes: number;
  addedBytes: number;
}

/** restic's progress and summary lines (backup --json). */
interface ResticLine {
  message_type?: string;
  percent_done?: number;
  snapshot_id?: string;
  total_bytes_processed?: number;
  data_added?: number;
  error?: { message?: string };
  item?: string;
}

function parseLine(line: string): ResticLine | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as ResticLine;
  } catch {
    return null;
  }
}

/** Runs restic on the node with the customer's repository served by the panel; throws with restic's last words on failure. */
async function resticOnNode(ctx: Context, nodeId: string, helperId: string, repo: Repository, place: ResticPlace, args: string[],
  onLine: (line: string) => void): Promise<string[]> {
  const end = serveRepository(repo);
  try {
    const r = await runRestic(ctx.nodes.get(nodeId).backupNode(), helperId, place, args, { RESTIC_PASSWORD: repo.password }, end, onLine);
    if (r.code !== 0) {
      const words = r.tail.map((l) => parseLine(l)?.error?.message ?? l).filter((l) => l && !l.startsWith('{')).slice(-3).join(' ');
      throw new KuraError('internal', `restic ${args[0]} ended with code ${r.code}: ${words.slice(0, 500) || 'no message'}`);
    }
    return r.tail;
  } finally {
    end.close();
    await end.done;
  }
}

/**
 * Copies a snapshot into the customer's repository with restic: only what changed since
 * `parent` is read (restic compares each file's size and times), and only new chunks are
 * stored. Progress goes to `onProgress` (0-1).
 */
export async function copySnapshot(ctx: Context, backup: Backup, nodeId: string, helperId: string, parent: string | null,
  onProgress: (fraction: number) => void): Promise<BackupSummary> {
  const repo = repositoryOf(ctx, backup.customerId);
  return withRepository(ctx, repo, 'shared', async () => {
    let summary: ResticLine | null = null;
    let lastShown = 0;
    await resticOnNode(ctx, nodeId, helperId, repo, { snapshot: snapshotName(ctx, backup.id) },
      ['backup', '--json', '--host', backup.environmentId, '--tag', `kura-backup=${backup.id}`, ...(parent ? ['--parent', parent] : []), '.'],
      (line) => {
        const parsed = parseLine(line);
        if (parsed?.message_type === 'summary') summary = parsed;
        if (parsed?.message_type === 'status' && typeof parsed.percent_done === 'number' && Date.now() - lastShown > 500) {
          lastShown = Date.now();
          onProgress(parsed.percent_done);
        }
      });
    const s = summary as ResticLine | null;
    if (!s?.snapshot_id) throw new KuraError('internal', 'restic ended without naming the snapshot it made');
    // Verified: the snapshot's file is in the repository on the panel's disk (restic writes
    // it last, after the data and index it names). Reading it with restic would cost another
    // key derivation, most of a small backup's time.
    const snapshotId = storedSnapshot(repo, s.snapshot_id);
    if (!snapshotId) throw new KuraError('internal', `restic reported snapshot ${s.snapshot_id} but the repository does not hold it`);
    return { snapshotId, sizeBytes: s.total_bytes_processed ?? 0, addedBytes: s.data_added ?? 0 };
  });
}

/**
 * Makes a container's files exactly those of the backup: its layer is emptied (the container
 * is stopped), then restic writes the snapshot into it, streamed from the repository; the
 * environment never needs room for a second copy.
 */
export async function restoreIntoContainer(ctx: Context, backup: Backup, nodeId: string, containerId: string): Promise<void> {
  if (!backup.snapshotId) throw new KuraError('conflict', 'the backup holds no snapshot');
  const helperId = await ensureHelper(ctx, nodeId);
  const repo = repositoryOf(ctx, backup.customerId);
  await withRepository(ctx, repo, 'shared', async () => {
    await wipeLayer(ctx.nodes.get(nodeId).backupNode(), helperId, containerId);
    await resticOnNode(ctx, nodeId, helperId, repo, { layer: containerId }, ['restore', backup.snapshotId!, '--target', '.'], () => {});
  });
}

/** One entry of a backup, as the file browser lists it. */
export interface BackupEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
}

interface ResticNode { name?: string; path?: string; type?: string; size?: number; mode?: number; uid?: number; gid?: number; mtime?: string; struct_type?: string }

/** What a backup holds in one folder (`dir` absolute), from the repository on the panel's machine. */
export async function listBackupFolder(ctx: Context, backup: Backup, dir: string): Promise<BackupEntry[]> {
  const repo = repositoryOf(ctx, backup.customerId);
  const out = await withRepository(ctx, repo, 'shared', () => restic(ctx, repo, ['ls', '--json', backup.snapshotId!, dir]));
  const prefix = dir === '/' ? '/' : `${dir}/`;
  return out.split('\n').flatMap((line) => {
    const n = line.startsWith('{') ? JSON.parse(line) as ResticNode : null;
    if (!n || n.struct_type !== 'node' || !n.path?.startsWith(prefix) || n.path.slice(prefix.length).includes('/')) return [];
    const type: BackupEntry['type'] = n.type === 'file' || n.type === 'dir' || n.type === 'symlink' ? n.type : 'other';
    return [{ name: n.name ?? '', path: n.path, type, size: n.size ?? 0, mode: n.mode ?? 0, uid: n.uid ?? 0, gid: n.gid ?? 0, mtime: n.mtime ?? '' }];
  }).sort((a, b) => (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || a.name.localeCompare(b.name));
}

/** One entry's own listing (its parent's, filtered), or null when the backup does not hold it. */
export async function backupEntry(ctx: Context, backup: Backup, target: string): Promise<BackupEntry | null> {
  if (target === '/') return { name: '', path: '/', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: '' };
  const parent = target.slice(0, target.lastIndexOf('/')) || '/';
  return (await listBackupFolder(ctx, backup, parent)).find((e) => e.path === target) ?? null;
}

/**
 * The backup's files at `target` (a folder: its whole tree) as a tar with paths relative to
 * `/`, streamed from the repository by `restic dump`; the caller ends it by destroying it.
 */
export async function backupTar(ctx: Context, backup: Backup, target: string): Promise<Readable> {
  const repo = repositoryOf(ctx, backup.customerId);
  const entry = await backupEntry(ctx, backup, target);
  if (!entry) throw new KuraError('not_found', `the backup holds nothing at ${target}`);
  if (entry.type === 'dir') return dumpStream(ctx, repo, backup, target);
  // One file (or link): restic dumps its bytes; it is wrapped as a tar of one entry.
  const tar = pack();
  const name = target.slice(1);
  if (entry.type === 'symlink' || entry.type === 'other') {
    tar.destroy(new KuraError('bad_request', `${target} is not a file or folder; restore its folder instead`));
    return tar as unknown as Readable;
  }
  const bytes = dumpStream(ctx, repo, backup, target);
  const sink = tar.entry({ name, size: entry.size, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid, mtime: new Date(entry.mtime || Date.now()) }, (err) => {
    if (err) tar.destroy(err); else tar.finalize();
  });
  bytes.on('error', (err) => tar.destroy(err));
  bytes.pipe(sink);
  (tar as unknown as Readable).on('close', () => bytes.destroy());
  return tar as unknown as Readable;
}

function dumpStream(ctx: Context, repo: Repository, backup: Backup, target: string): Readable {
  const child = resticStream(ctx, repo, ['dump', backup.snapshotId!, target]);
  let errors = '';
  child.stderr!.on('data', (c: Buffer) => { if (errors.length < 2000) errors += c.toString('utf8'); });
  const out = child.stdout!;
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) out.destroy(new KuraError('internal', `restic dump failed: ${errors.trim().slice(-300) || `code ${code}`}`));
  });
  out.on('close', () => { if (child.exitCode === null) child.kill('SIGTERM'); });
  return out;
}

/** Writes one file or folder from the backup back into the running environment, through Docker's archive API (which keeps it inside the container). */
export async function restorePathInto(ctx: Context, backup: Backup, nodeId: string, containerId: string, target: string): Promise<void> {
  const tar = await backupTar(ctx, backup, target);
  try {
    await ctx.nodes.get(nodeId).files(containerId).write('/', tar);
  } catch (err) {
    tar.destroy();
    throw new KuraError('internal', `restoring ${target} failed: ${errorMessage(err)}`);
  }
}
