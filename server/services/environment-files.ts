import type { Environment, Template } from '../domain/types.js';
import type { FileAgent, FileScope, FileStream } from '../docker/file-agent.js';
import { FILE_CODES } from '../docker/file-scripts.js';
import type { NodeApi } from '../docker/registry.js';
import { BadRequestError, ConflictError, KuraError, QuotaExceededError } from '../lib/errors.js';
import { customerTenant, onBehalfOf } from '../lib/tenancy.js';
import type { Context } from '../core/context.js';

export interface FileEntry {
  name: string;
  type: 'file' | 'dir' | 'link';
  size: number;
  /** Permission bits (0o644 is 420). */
  mode: number;
  modifiedAt: string;
}

export interface FileStat {
  type: 'file' | 'dir' | 'link' | 'special';
  size: number;
  mode: number;
  mtime: number;
}

/** A file smaller than this goes through the agent in one command; a larger one gets its own stream. */
export const SMALL_FILE_BYTES = 256 * 1024;

/**
 * One environment's files, reached as its template's user inside its data folder, through
 * one agent (docker/file-agent.ts). Paths are checked ones (domain/file-paths.ts). Every
 * refusal is a KuraError saying what was wrong with which path.
 */
export class EnvironmentFiles {
  constructor(readonly env: Environment, private readonly node: NodeApi, private readonly containerId: string,
    readonly scope: FileScope, private readonly agent: FileAgent) {}

  get alive(): boolean {
    return this.agent.alive;
  }

  close(): void {
    this.agent.close();
  }

  async list(path: string): Promise<FileEntry[]> {
    const out = await this.expect('list', [path], path);
    return parseListing(out);
  }

  /** The path's own stat (`follow`: through a final link, kept inside the folder), or null when it does not exist. */
  async stat(path: string, follow: boolean): Promise<FileStat | null> {
    const a = await this.agent.run(follow ? 'stat' : 'lstat', [path]);
    if (a.code === FILE_CODES.missing) return null;
    check(a.code, a.out, path, this.env);
    const [mode = '', size = '', mtime = ''] = a.out.trim().split(' ');
    return statOf(parseInt(mode, 16), Number(size), Number(mtime));
  }

  async mkdir(path: string): Promise<void> {
    await this.expect('mkdir', [path], path);
  }

  /** A file, a link, or (`tree`) a folder with everything in it; without `tree` only an empty folder goes. */
  async remove(path: string, opts: { tree?: boolean; dirOnly?: boolean } = {}): Promise<void> {
    if (path === '') throw new BadRequestError('the data folder itself cannot be deleted', { field: 'path' });
    await this.expect(opts.tree ? 'rmtree' : opts.dirOnly ? 'rmdir' : 'rm', [path], path);
  }

  /** Renames; the new name must not exist yet. */
  async rename(from: string, to: string): Promise<void> {
    if (from === '' || to === '') throw new BadRequestError('the data folder itself cannot be renamed', { field: 'path' });
    await this.expect('mv', [from, to], `${from}" or "${to}`);
  }

  /** Moves a file over another, replacing it (an upload's last step). */
  async replace(from: string, to: string): Promise<void> {
    await this.expect('replace', [from, to], to);
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.expect('chmod', [(mode & 0o7777).toString(8), path], path);
  }

  async touch(path: string, mtimeSeconds: number): Promise<void> {
    await this.expect('touch', [String(Math.floor(mtimeSeconds)), path], path);
  }

  async readlink(path: string): Promise<string> {
    return this.expect('readlink', [path], path);
  }

  /** The path with its links followed, as the data folder sees it ('/' is the folder). */
  async realpath(path: string): Promise<string> {
    return (await this.expect('real', [path], path)) || '/';
  }

  /**
   * Opens a file for writing in one command: `create` makes a missing one (with `mode`,
   * the umask's 022 taken off), `truncate` empties an existing one, `exclusive` refuses one
   * that exists. Answers the size writes go on from (0 when created or emptied).
   */
  async openForWrite(path: string, o: { create: boolean; truncate: boolean; exclusive: boolean; mode?: number }): Promise<number> {
    const flags = `${o.create ? 'c' : ''}${o.truncate ? 't' : ''}${o.exclusive ? 'x' : ''}-`;
    const mode = o.mode === undefined ? '' : (o.mode & 0o777 & ~0o022).toString(8);
    const out = await this.expect('open', [path, flags, mode], path);
    return Number(out.trim()) || 0;
  }

  /** Writes a small file whole (created or truncated). */
  async put(path: string, bytes: Buffer): Promise<void> {
    await this.expect('put', [path, String(bytes.length)], path, bytes);
  }

  read(path: string, offset = 0): Promise<FileStream> {
    return this.onNode(() => this.node.fileStream(this.containerId, this.scope, { read: path, offset }));
  }

  write(path: string, append = false): Promise<FileStream> {
    return this.onNode(() => this.node.fileStream(this.containerId, this.scope, { write: path, append }));
  }

  archive(path: string): Promise<FileStream> {
    return this.onNode(() => this.node.fileStream(this.containerId, this.scope, { archive: path }));
  }

  /** What a stream's end means: nothing when it succeeded, the refusal otherwise. */
  streamOutcome(result: { code: number; message: string }, path: string): void {
    check(result.code, result.message, path, this.env);
  }

  private async expect(op: string, args: string[], path: string, body?: Buffer): Promise<string> {
    const a = await this.agent.run(op, args, body);
    check(a.code, a.out, path, this.env);
    return a.out;
  }

  private onNode<T>(work: () => Promise<T>): Promise<T> {
    return onBehalfOf({ tenant: customerTenant(this.env.customerId), patient: false }, work);
  }
}

/**
 * Opens an environment's files for one session: it must be running (a stopped one has no
 * processes to run the agent in; the refusal says so) and its template must name a data folder.
 */
export async function openEnvironmentFiles(ctx: Context, env: Environment): Promise<EnvironmentFiles> {
  const template = ctx.templates.get(env.templateId);
  const scope = scopeOf(template);
  if (!env.containerId || env.state === 'provisioning') throw new ConflictError('the environment is still being created: its files are reachable once it runs');
  if (env.state === 'stopped') throw new ConflictError('the environment is stopped: start it to reach its files');
  if (env.state === 'migrating') throw new ConflictError('the environment is being moved or rebuilt: its files are reachable again when that ends');
  if (env.state !== 'running') throw new ConflictError(`the environment is ${env.state}: its files are reachable only while it runs`);
  const node = ctx.nodes.get(env.nodeId);
  const containerId = env.containerId;
  const agent = await onBehalfOf({ tenant: customerTenant(env.customerId), patient: false }, () => node.fileAgent(containerId, scope));
  return new EnvironmentFiles(env, node, containerId, scope, agent);
}

function scopeOf(template: Template | undefined): FileScope {
  if (!template?.dataPath) throw new ConflictError('this environment\'s template has no data folder, so it has no files to manage');
  return { root: template.dataPath, user: template.user };
}

/** Turns an agent's or a stream's code into the refusal it means. */
function check(code: number, out: string, path: string, env: Environment): void {
  const where = `"${path || '/'}"`;
  switch (code) {
    case FILE_CODES.ok: return;
    case FILE_CODES.missing: throw new KuraError('not_found', `${where}: no such file or folder`);
    case FILE_CODES.outside: throw new BadRequestError(`${where} leads outside the environment's data folder`, { field: 'path' });
    case FILE_CODES.special: throw new BadRequestError(`${where} is not a regular file (a device, a pipe or a socket is never opened)`, { field: 'path' });
    case FILE_CODES.exists: throw new ConflictError(`${where}: something with that name exists already`);
    case FILE_CODES.notDir: throw new BadRequestError(`${where} is not a folder`, { field: 'path' });
    case FILE_CODES.isDir: throw new BadRequestError(`${where} is a folder`, { field: 'path' });
    case FILE_CODES.notEmpty: throw new ConflictError(`${where} is a folder that is not empty`);
    default: break;
  }
  if (/no space left|quota exceeded/i.test(out)) {
    throw new QuotaExceededError(`the environment's disk is full (${env.limits.diskMb ?? '?'} MiB): ${where} could not be written whole and was not kept`);
  }
  if (/permission denied|operation not permitted|read-only file system/i.test(out)) {
    throw new ConflictError(`${where}: permission denied to the environment's user`);
  }
  if (code === 9) throw new ConflictError(out.trim() || 'the environment\'s data folder does not exist');
  throw new KuraError('internal', `${where}: ${out.trim().split('\n').pop()?.slice(0, 300) || `the file command failed (code ${code})`}`);
}

const S_IFMT = 0o170000;

function statOf(mode: number, size: number, mtime: number): FileStat {
  const kind = mode & S_IFMT;
  const type = kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'link' : kind === 0o100000 ? 'file' : 'special';
  return { type, size: Number.isFinite(size) ? size : 0, mode: mode & 0o7777, mtime: Number.isFinite(mtime) ? mtime : 0 };
}

const ENTRY = /^([0-9a-f]{1,8}) (\d+) (\d+) /;

/**
 * `stat -c '%f %s %Y %n'` lines, folders first, then by name. A name holding a newline
 * (made from the customer's own shell) continues on the next line, which does not start
 * like an entry.
 */
export function parseListing(out: string): FileEntry[] {
  const entries: FileEntry[] = [];
  for (const line of out.split('\n')) {
    const m = ENTRY.exec(line);
    if (!m) {
      const last = entries[entries.length - 1];
      if (last && line !== '') last.name += `\n${line}`;
      continue;
    }
    const s = statOf(parseInt(m[1]!, 16), Number(m[2]), Number(m[3]));
    entries.push({ name: line.slice(m[0].length), type: s.type === 'special' ? 'file' : s.type, size: s.size, mode: s.mode,
      modifiedAt: new Date(s.mtime * 1000).toISOString() });
  }
  return entries
    .filter((e) => e.name !== '' && e.name !== '.' && e.name !== '..')
    .sort((a, b) => (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
