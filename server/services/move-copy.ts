import { PassThrough } from 'node:stream';
import type { ContainerFiles } from '../docker/files.js';
import { parentOf, type Stat } from '../domain/move-sync.js';
import { poolAll } from '../lib/pool.js';

const STAT_CONCURRENCY = 16;

/** The stat of every path, read in parallel (null where a path no longer exists). */
export async function statAll(files: ContainerFiles, paths: readonly string[]): Promise<Map<string, Stat | null>> {
  const stats = await poolAll(paths, STAT_CONCURRENCY, (p) => files.stat(p));
  return new Map(paths.map((p, i) => [p, stats[i]!]));
}

/**
 * Copies each path from one container to the other: a tar read from the source is
 * streamed, as it arrives, into the same place on the target (owners and modes kept).
 * Returns the bytes moved.
 */
export async function copyPaths(from: ContainerFiles, to: ContainerFiles, paths: readonly string[],
  onCopied: (done: number, total: number, bytes: number) => void = () => {}): Promise<number> {
  let bytes = 0;
  let done = 0;
  for (const path of paths) {
    const tar = await from.read(path);
    const counted = new PassThrough();
    counted.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    tar.on('error', (err) => counted.destroy(err));
    tar.pipe(counted);
    await to.write(parentOf(path), counted);
    onCopied(++done, paths.length, bytes);
  }
  return bytes;
}
