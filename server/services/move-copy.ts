import net from 'node:net';
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

/** Resolves once a TCP connection to host:port succeeds; rejects after `deadlineMs`. */
export async function waitForPort(host: string, port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < until) {
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port, timeout: 1000 });
        socket.once('connect', () => { socket.destroy(); resolve(); });
        socket.once('timeout', () => { socket.destroy(); reject(new Error('timed out')); });
        socket.once('error', (err) => { socket.destroy(); reject(err); });
      });
      return;
    } catch (err) {
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${host}:${port} did not accept a connection within ${deadlineMs} ms (${last})`);
}
