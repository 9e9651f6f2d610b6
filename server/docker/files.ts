import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import type Docker from 'dockerode';
import { isNotFound } from './errors.js';
import type { CallMode } from './node-gate.js';

/** One entry of Docker's list of how a container's filesystem differs from its image. */
export interface FsChange {
  path: string;
  kind: 'changed' | 'added' | 'deleted';
}

/** What Docker tells about one path in a container (ns-precision mtime, as the filesystem has it). */
export interface PathStat {
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** What the files of a container need from its node's client: deadline-wrapped calls and its connections. */
export interface FilesNode {
  api: Docker;
  /** No short idle timeout: archives of a large data directory take a while. */
  bulk: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number, mode?: CallMode): Promise<T>;
}

const KINDS = ['changed', 'added', 'deleted'] as const;
/** Archives stream for as long as they take; only the answer's start has a deadline. */
const ARCHIVE_START_MS = 30_000;
const ARCHIVE_MS = 60 * 60_000;

/** Reading and writing files of a container through Docker's archive API (works on stopped containers too). */
export class ContainerFiles {
  constructor(private readonly node: FilesNode, private readonly id: string) {}

  async changes(): Promise<FsChange[]> {
    const raw = await this.node.call('container changes', () => this.node.api.getContainer(this.id).changes()) as
      Array<{ Path: string; Kind: number }> | null;
    return (raw ?? []).map((c) => ({ path: c.Path, kind: KINDS[c.Kind] ?? 'changed' }));
  }

  /** The path's stat, or null when it does not exist. */
  async stat(path: string): Promise<PathStat | null> {
    try {
      const res = await this.node.call('archive stat', () =>
        this.node.api.getContainer(this.id).infoArchive({ path }) as Promise<{ headers: Record<string, string | undefined>; resume?(): void }>);
      res.resume?.();
      const header = res.headers['x-docker-container-path-stat'];
      if (!header) return null;
      const s = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Partial<PathStat>;
      return { size: Number(s.size ?? 0), mode: Number(s.mode ?? 0), mtime: String(s.mtime ?? ''), linkTarget: String(s.linkTarget ?? '') };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** A tar of the path (a file, or a directory with everything below it), named relative to its parent. */
  async read(path: string): Promise<Readable> {
    return this.node.call('archive read', () => this.node.bulk.getContainer(this.id).getArchive({ path }) as Promise<Readable>, ARCHIVE_START_MS);
  }

  /**
   * Unpacks a tar into `dir`; Docker keeps the owners and modes the tar names (no copyUIDGID: that would chown to the container's user).
   * A transfer: it takes no slot of the node's short calls for the minutes it may run.
   */
  async write(dir: string, tar: Readable): Promise<void> {
    await this.node.call('archive write', async () => {
      const res = await this.node.bulk.getContainer(this.id).putArchive(tar, { path: dir }) as unknown;
      if (res && typeof res === 'object' && 'resume' in res && typeof (res as { resume: unknown }).resume === 'function') {
        (res as { resume(): void }).resume();
      }
    }, ARCHIVE_MS, 'transfer');
  }

  /** One small file's text (the first entry of its archive). */
  async readText(path: string): Promise<string> {
    const tar = await this.read(path);
    return new Promise((resolve, reject) => {
      const ex = extract();
      let text: string | null = null;
      ex.on('entry', (_header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => { if (text === null) chunks.push(c as Buffer); });
        stream.on('end', () => { text ??= Buffer.concat(chunks).toString('utf8'); next(); });
      });
      ex.on('finish', () => (text === null ? reject(new Error(`${path} is not in its archive`)) : resolve(text)));
      ex.on('error', reject);
      tar.pipe(ex);
    });
  }

  /** Writes one file (root-owned, with `mode`) at `path`, replacing what is there. */
  async writeText(path: string, text: string, mode: number): Promise<void> {
    const tar = pack();
    tar.entry({ name: posix.basename(path), mode, uid: 0, gid: 0 }, text);
    tar.finalize();
    await this.write(posix.dirname(path), tar as unknown as Readable);
  }
}
