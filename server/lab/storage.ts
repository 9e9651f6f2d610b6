// Per-node btrfs on a sparse loop file, so `--storage-opt size=` quotas are enforced.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { run, tryRun } from './exec.js';
import { isUnder, type NodePaths } from './paths.js';

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMount(line.split(' ')[4] ?? ''));
}

/** Mount points at or below any of the roots, deepest first so they can be unmounted in order. */
export async function mountsUnder(roots: readonly string[]): Promise<string[]> {
  const all = await mountPoints();
  const hits = [...new Set(all.filter((m) => roots.some((r) => isUnder(m, r))))];
  return hits.sort((a, b) => b.length - a.length);
}

export async function unmountAll(roots: readonly string[]): Promise<void> {
  // Stacked mounts on one point need one umount each, hence the loop.
  for (let round = 0; round < 10; round++) {
    const mounts = await mountsUnder(roots);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      if (!(await tryRun('umount', [m]))) await tryRun('umount', ['-l', m]);
    }
  }
  const left = await mountsUnder(roots);
  if (left.length > 0) throw new Error(`could not unmount: ${left.join(', ')}`);
}

export interface LoopDevice {
  name: string;
  backFile: string;
}

export async function listLoops(): Promise<LoopDevice[]> {
  const { stdout } = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE']);
  if (!stdout.trim()) return [];
  const parsed = JSON.parse(stdout) as { loopdevices?: { name?: string; 'back-file'?: string | null }[] };
  return (parsed.loopdevices ?? []).map((d) => ({
    name: d.name ?? '',
    // A backing file deleted while attached is reported with a " (deleted)" suffix.
    backFile: (d['back-file'] ?? '').replace(/ \(deleted\)$/, ''),
  }));
}

export async function detachLoopsUnder(roots: readonly string[]): Promise<void> {
  for (const loop of await listLoops()) {
    if (loop.name && roots.some((r) => isUnder(loop.backFile, r))) await tryRun('losetup', ['-d', loop.name]);
  }
}

export async function createDisk(p: NodePaths, diskGb: number): Promise<void> {
  await mkdir(p.dataRoot, { recursive: true });
  // Sparse: a 40-node lab at 8 GiB each costs only what the nodes really write.
  await run('truncate', ['-s', `${diskGb}G`, p.diskImage]);
  await run('mkfs.btrfs', ['-q', '-f', '-L', p.name, p.diskImage]);
  await run('mount', ['-o', 'loop', p.diskImage, p.dataRoot]);
  await run('btrfs', ['quota', 'enable', p.dataRoot]);
}

export async function isMounted(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(dir);
}

/** Unmounts everything under the node's dirs, frees its loop device and deletes its files. */
export async function destroyStorage(p: NodePaths): Promise<void> {
  const roots = [p.nodeDir, p.runDir];
  await unmountAll(roots);
  await detachLoopsUnder([p.nodeDir]);
  await rm(p.nodeDir, { recursive: true, force: true });
  await rm(p.runDir, { recursive: true, force: true });
}
