import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { apiPath, baseName, parentOf } from '../domain/file-paths.js';
import type { Environment, Principal } from '../domain/types.js';
import type { FileStream } from '../docker/file-agent.js';
import { BadRequestError, KuraError, RateLimitedError } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { environmentFor } from './environments.js';
import { EnvironmentFiles, openEnvironmentFiles, type FileEntry } from './environment-files.js';

/** The file manager's agents stay open this long after their last use, so browsing costs no exec per click. */
const IDLE_MS = 30_000;
/** Uploads and downloads one customer may run at once; more wait for none and are told to retry. */
export const STREAMS_PER_CUSTOMER = 8;
/** The largest file the panel's editor opens. */
export const EDIT_MAX_BYTES = 512 * 1024;

interface Pooled {
  files: Promise<EnvironmentFiles>;
  containerId: string;
  timer: NodeJS.Timeout | null;
  users: number;
}

/** Per panel: the open agents by environment, and each customer's running transfers. */
const state = new WeakMap<Context, { agents: Map<string, Pooled>; streams: Map<string, number> }>();

function stateOf(ctx: Context) {
  let s = state.get(ctx);
  if (!s) state.set(ctx, s = { agents: new Map(), streams: new Map() });
  return s;
}

/** Runs work with the environment's pooled agent (opened when missing or dead, closed after IDLE_MS unused). */
async function withFiles<T>(ctx: Context, env: Environment, work: (files: EnvironmentFiles) => Promise<T>): Promise<T> {
  const { agents } = stateOf(ctx);
  let pooled = agents.get(env.id);
  if (pooled && pooled.containerId !== env.containerId) {
    drop(agents, env.id, pooled);
    pooled = undefined;
  }
  if (pooled) {
    const files = await pooled.files.catch(() => null);
    if (!files?.alive) {
      drop(agents, env.id, pooled);
      pooled = undefined;
    }
  }
  if (!pooled) {
    pooled = { files: openEnvironmentFiles(ctx, env), containerId: env.containerId ?? '', timer: null, users: 0 };
    agents.set(env.id, pooled);
    pooled.files.catch(() => agents.get(env.id) === pooled && agents.delete(env.id));
  }
  const own = pooled;
  own.users++;
  if (own.timer) clearTimeout(own.timer);
  try {
    return await work(await own.files);
  } finally {
    own.users--;
    if (own.users === 0 && agents.get(env.id) === own) {
      own.timer = setTimeout(() => drop(agents, env.id, own), IDLE_MS);
      own.timer.unref();
    }
  }
}

function drop(agents: Map<string, Pooled>, id: string, pooled: Pooled): void {
  if (pooled.timer) clearTimeout(pooled.timer);
  if (agents.get(id) === pooled) agents.delete(id);
  pooled.files.then((f) => f.close(), () => {});
}

/** Closes every agent a panel holds (at shutdown). */
export function closeFileAgents(ctx: Context): void {
  const { agents } = stateOf(ctx);
  for (const [id, pooled] of [...agents]) drop(agents, id, pooled);
}

function checked(raw: string | undefined, field = 'path'): string {
  const c = apiPath(raw);
  if ('refused' in c) throw new BadRequestError(c.refused, { field });
  return c.path;
}

export async function listFiles(ctx: Context, who: Principal, id: string, rawPath: string | undefined): Promise<FileEntry[]> {
  const env = environmentFor(ctx, who, id);
  const path = checked(rawPath);
  return withFiles(ctx, env, (files) => files.list(path));
}

/** Who may start a transfer: at most STREAMS_PER_CUSTOMER at once per customer; `release` when it ends. */
export function transferSlot(ctx: Context, customerId: string): () => void {
  const { streams } = stateOf(ctx);
  const n = streams.get(customerId) ?? 0;
  if (n >= STREAMS_PER_CUSTOMER) {
    throw new RateLimitedError(`at most ${STREAMS_PER_CUSTOMER} uploads and downloads may run at once; try again when one ends`, 2);
  }
  streams.set(customerId, n + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (streams.get(customerId) ?? 1) - 1;
    if (left <= 0) streams.delete(customerId);
    else streams.set(customerId, left);
  };
}

export interface Download {
  name: string;
  /** Bytes for a file; null for a folder's archive (its size is not known in advance). */
  size: number | null;
  kind: 'file' | 'archive';
  stream: Readable;
}

/** A file's bytes, or a folder as a .tar.gz; the stream's end frees the customer's transfer slot. */
export async function downloadFile(ctx: Context, who: Principal, id: string, rawPath: string | undefined,
  opts: { archive?: boolean; maxBytes?: number } = {}): Promise<Download> {
  const env = environmentFor(ctx, who, id);
  const path = checked(rawPath);
  const release = transferSlot(ctx, env.customerId);
  try {
    return await withFiles(ctx, env, async (files) => {
      const st = await files.stat(path, true);
      if (!st) throw new KuraError('not_found', `"${path || '/'}": no such file or folder`);
      if (st.type === 'dir' && !opts.archive) throw new BadRequestError(`"${path || '/'}" is a folder: download it as an archive`, { field: 'path' });
      if (st.type === 'special') throw new BadRequestError(`"${path}" is not a regular file`, { field: 'path' });
      if (opts.maxBytes !== undefined && st.type === 'file' && st.size > opts.maxBytes) {
        throw new BadRequestError(`"${path}" is ${mib(st.size)}: the editor opens files up to ${mib(opts.maxBytes)}; download it instead`, { field: 'path' });
      }
      const stream = st.type === 'dir' ? await files.archive(path) : await files.read(path);
      watch(stream, release);
      const name = baseName(path) || env.name;
      return st.type === 'dir'
        ? { name: `${name}.tar.gz`, size: null, kind: 'archive' as const, stream: stream.output }
        : { name, size: st.size, kind: 'file' as const, stream: stream.output };
    });
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A file the editor may open: UTF-8 text of at most EDIT_MAX_BYTES, with its checked path.
 * A larger file, or bytes that are not text (a NUL, invalid UTF-8), are refused with the reason.
 */
export async function readTextFile(ctx: Context, who: Principal, id: string, rawPath: string | undefined): Promise<{ path: string; text: string }> {
  const path = checked(rawPath);
  const d = await downloadFile(ctx, who, id, path, { maxBytes: EDIT_MAX_BYTES });
  const chunks: Buffer[] = [];
  for await (const c of d.stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  try {
    if (bytes.includes(0)) throw new TypeError('a NUL byte');
    return { path, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    throw new NotTextError(path);
  }
}

/** A file the editor does not open: not UTF-8 text. */
export class NotTextError extends BadRequestError {
  constructor(readonly path: string) {
    super(`${path} is not UTF-8 text, so the editor does not open it: download it instead`, { field: 'path' });
  }
}

function watch(stream: FileStream, release: () => void): void {
  stream.output.once('close', release);
  stream.output.once('end', release);
  stream.output.once('error', release);
}

/**
 * Writes a file from a stream: the bytes go to a hidden name beside it, which replaces the
 * file only once all arrived. A failed or cut upload leaves the old file as it was.
 */
export async function uploadFile(ctx: Context, who: Principal, id: string, rawPath: string | undefined, body: Readable): Promise<void> {
  const env = environmentFor(ctx, who, id);
  const path = checked(rawPath);
  if (path === '') throw new BadRequestError('name the file to write: the path is the data folder itself', { field: 'path' });
  const release = transferSlot(ctx, env.customerId);
  try {
    await withFiles(ctx, env, async (files) => {
      const st = await files.stat(path, true);
      if (st?.type === 'dir') throw new BadRequestError(`"${path}" is a folder`, { field: 'path' });
      const parent = await files.stat(parentOf(path), true);
      if (!parent) throw new KuraError('not_found', `"${parentOf(path) || '/'}": no such folder`);
      if (parent.type !== 'dir') throw new BadRequestError(`"${parentOf(path)}" is not a folder`, { field: 'path' });
      const temp = [parentOf(path), `.kura-upload-${randomBytes(6).toString('hex')}`].filter(Boolean).join('/');
      const out = await files.write(temp);
      try {
        await pipeline(body, out.stream);
      } catch (err) {
        out.close();
        // The writer may have stopped first (a full disk): its reason is the one to give.
        const ended = await out.done().catch(() => ({ code: -1, message: '' }));
        await files.remove(temp).catch(() => {});
        if (ended.code > 0) files.streamOutcome(ended, path);
        throw new BadRequestError(`the upload of "${path}" was cut short (${(err as Error).message}); the file was not changed`);
      }
      const result = await out.done();
      try {
        files.streamOutcome(result, path);
        await files.replace(temp, path);
      } catch (err) {
        await files.remove(temp).catch(() => {});
        throw err;
      }
    });
  } finally {
    release();
  }
}

export type FileAction = { action: 'mkdir' | 'delete'; path: string } | { action: 'rename'; path: string; to: string };

export async function fileAction(ctx: Context, who: Principal, id: string, input: { action: string; path?: string; to?: string }): Promise<FileAction> {
  const env = environmentFor(ctx, who, id);
  const path = checked(input.path);
  return withFiles(ctx, env, async (files) => {
    switch (input.action) {
      case 'mkdir':
        if (path === '') throw new BadRequestError('name the folder to make', { field: 'path' });
        await files.mkdir(path);
        return { action: 'mkdir', path };
      case 'delete':
        await files.remove(path, { tree: true });
        return { action: 'delete', path };
      case 'rename': {
        if (input.to === undefined) throw new BadRequestError('rename needs "to", the new path', { field: 'to' });
        const to = checked(input.to, 'to');
        await files.rename(path, to);
        return { action: 'rename', path, to };
      }
      default:
        throw new BadRequestError('action must be mkdir, rename or delete', { field: 'action' });
    }
  });
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MiB`;
}
