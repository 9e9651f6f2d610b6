import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RepositoryEnd } from '../docker/backup-agent.js';
import { KuraError } from '../lib/errors.js';
import { CommandError, run } from '../lib/exec.js';
import type { Context } from '../core/context.js';
import { sealedFile } from './sealed-file.js';

/**
 * Backups live in restic repositories, one per customer, under KURA_BACKUP_REPOSITORY. One
 * per customer because restic deduplicates within a repository: shared between customers,
 * how little a backup added would tell one customer what another holds. Each has its own
 * password, derived from the panel's backup key (sealed in the data folder like its other
 * secrets), so a node that backs up one customer learns nothing that opens another's.
 */
export interface Repository {
  customerId: string;
  path: string;
  password: string;
}

const KEY_FILE = 'backup-key';
const CUSTOMER_ID = /^[A-Za-z0-9_-]{1,100}$/;
const keys = new WeakMap<Context, Buffer>();

function backupKey(ctx: Context): Buffer {
  const known = keys.get(ctx);
  if (known) return known;
  const key = Buffer.from(sealedFile(ctx, KEY_FILE, () => randomBytes(32).toString('hex')), 'hex');
  keys.set(ctx, key);
  return key;
}

export function repositoryOf(ctx: Context, customerId: string): Repository {
  if (!CUSTOMER_ID.test(customerId)) throw new KuraError('internal', `refused a repository for customer id "${customerId.slice(0, 40)}"`);
  return {
    customerId,
    path: path.join(ctx.config.backupRepository, customerId),
    password: createHmac('sha256', backupKey(ctx)).update(`restic:${customerId}`).digest('hex'),
  };
}

export function repositoryExists(repo: Repository): boolean {
  return fs.existsSync(path.join(repo.path, 'config'));
}

/** The full id of the snapshot restic named (by its short id) when its file is in the repository and not empty. */
export function storedSnapshot(repo: Repository, shortId: string): string | null {
  if (!/^[0-9a-f]{8,64}$/.test(shortId)) return null;
  const dir = path.join(repo.path, 'snapshots');
  const name = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.startsWith(shortId) && /^[0-9a-f]{64}$/.test(f)) : undefined;
  return name && fs.statSync(path.join(dir, name)).size > 0 ? name : null;
}

const initializing = new Map<string, Promise<void>>();
/** Repositories this process made: no lock of an earlier process can be in them. */
const madeHere = new Set<string>();

/**
 * Makes the customer's repository the first time it is needed. restic spends a few seconds
 * on it (it tunes its key derivation to the machine), so the panel makes it as soon as the
 * customer has an environment (loops/backups.ts), not at their first backup.
 */
export function ensureRepository(ctx: Context, repo: Repository): Promise<void> {
  if (repositoryExists(repo)) return Promise.resolve();
  let pending = initializing.get(repo.path);
  if (!pending) {
    pending = (async () => {
      fs.mkdirSync(ctx.config.backupRepository, { recursive: true, mode: 0o700 });
      // Made beside and renamed: a crash never leaves half a repository where a whole one is expected.
      const temp = `${repo.path}.init-${process.pid}`;
      fs.rmSync(temp, { recursive: true, force: true });
      await restic(ctx, { ...repo, path: temp }, ['init']);
      fs.renameSync(temp, repo.path);
      madeHere.add(repo.path);
    })().finally(() => initializing.delete(repo.path));
    initializing.set(repo.path, pending);
  }
  return pending;
}

function resticEnv(ctx: Context, repo: Repository): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: repo.password,
    RESTIC_CACHE_DIR: path.join(ctx.config.dataDir, 'restic-cache'),
  };
}

/** restic on the panel's machine, against the repository directly (listing, forgetting, pruning, checking). */
export async function restic(ctx: Context, repo: Repository, args: string[], timeoutMs = 30 * 60_000): Promise<string> {
  try {
    return (await run('restic', ['-r', repo.path, '--quiet', ...args], { env: resticEnv(ctx, repo), timeoutMs })).stdout;
  } catch (err) {
    if (err instanceof CommandError) throw new KuraError('internal', `restic ${args[0]} failed: ${(err.stderr || err.stdout).trim().split('\n').slice(-3).join(' ').slice(0, 500)}`);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KuraError('internal', 'restic is not installed on the panel\'s machine (apt-get install restic)');
    throw err;
  }
}

/** restic's output as a stream (dump): the caller reads it and ends the process by destroying stdout. */
export function resticStream(ctx: Context, repo: Repository, args: string[]): ChildProcess {
  return spawn('restic', ['-r', repo.path, '--quiet', ...args], { env: resticEnv(ctx, repo), stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The panel's end of the repository for restic on a node: rclone serving restic's REST
 * protocol over its standard streams, append-only, so a node can add backups but never
 * delete or rewrite one (forgetting and pruning are the panel's own, on its machine).
 */
export function serveRepository(repo: Repository): RepositoryEnd & { close(): void; done: Promise<void> } {
  const child = spawn('rclone', ['serve', 'restic', '--stdio', '--append-only', '-q', '--config', '/dev/null', repo.path], {
    stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  let errors = '';
  child.stderr.on('data', (c: Buffer) => { if (errors.length < 2000) errors += c.toString('utf8'); });
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve) => {
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  });
  return {
    input: child.stdin, output: child.stdout, done,
    close() {
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    },
  };
}

/** What a customer's repository takes on the disk, in bytes (read at most once a minute). */
const sizes = new Map<string, { at: number; bytes: number }>();
export function repositorySize(repo: Repository, fresh = false): number {
  const known = sizes.get(repo.path);
  if (!fresh && known && Date.now() - known.at < 60_000) return known.bytes;
  let bytes = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(repo.path)) walk(repo.path);
  sizes.set(repo.path, { at: Date.now(), bytes });
  return bytes;
}

/**
 * restic work on one customer's repository takes turns: backups and restores share it (two
 * at a time), forgetting, pruning and checking take it alone. Another customer's never waits.
 */
const SHARED = 2;
interface Turns { shared: number; exclusive: boolean; waiting: { exclusive: boolean; go: () => void }[]; unlocked: Promise<void> | null }
const turns = new Map<string, Turns>();

export async function withRepository<T>(ctx: Context, repo: Repository, mode: 'shared' | 'exclusive', work: () => Promise<T>): Promise<T> {
  let t = turns.get(repo.path);
  if (!t) { t = { shared: 0, exclusive: false, waiting: [], unlocked: null }; turns.set(repo.path, t); }
  const state = t;
  const free = () => mode === 'exclusive' ? !state.exclusive && state.shared === 0 : !state.exclusive && state.shared < SHARED;
  if (!free() || state.waiting.length > 0) {
    // wake() takes the turn for the waiter before it resumes.
    await new Promise<void>((go) => state.waiting.push({ exclusive: mode === 'exclusive', go }));
  } else if (mode === 'exclusive') {
    state.exclusive = true;
  } else {
    state.shared++;
  }
  try {
    await ensureRepository(ctx, repo);
    // A panel that stopped mid-backup leaves restic's lock behind; nothing else uses the
    // repository, so the first turn of this process clears it (once: turns that start
    // meanwhile wait for it rather than clear a lock a running backup has just taken).
    state.unlocked ??= madeHere.has(repo.path) ? Promise.resolve()
      : restic(ctx, repo, ['unlock', '--remove-all']).then(() => {}, (err: unknown) => { state.unlocked = null; throw err; });
    await state.unlocked;
    return await work();
  } finally {
    sizes.delete(repo.path);
    if (mode === 'exclusive') state.exclusive = false; else state.shared--;
    wake(state);
  }
}

function wake(t: Turns): void {
  while (t.waiting.length > 0) {
    const next = t.waiting[0]!;
    const ok = next.exclusive ? !t.exclusive && t.shared === 0 : !t.exclusive && t.shared < SHARED;
    if (!ok) return;
    t.waiting.shift();
    if (next.exclusive) t.exclusive = true; else t.shared++;
    next.go();
    if (next.exclusive) return;
  }
}
