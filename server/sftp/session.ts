import ssh2 from 'ssh2';
import type { Attributes, FileEntry as SftpEntry, SFTPWrapper } from 'ssh2';
import { sftpName, sftpPath } from '../domain/file-paths.js';
import { KuraError, errorMessage } from '../lib/errors.js';
import { openEnvironmentFiles, type EnvironmentFiles, type FileEntry, type FileStat } from '../services/environment-files.js';
import type { Context } from '../core/context.js';
import { FileReader, FileWriter } from './handles.js';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;
/** Open files and folders one session may hold. */
const MAX_HANDLES = 64;
/** Entries sent per READDIR answer, so an answer stays within a packet. */
const NAMES_PER_ANSWER = 100;
const S_IF = { dir: 0o040000, file: 0o100000, link: 0o120000, special: 0o100000 } as const;
/** A session with no request for this long is closed. */
const IDLE_MS = 30 * 60_000;

type Handle =
  | { kind: 'dir'; path: string; entries: FileEntry[] | null; sent: number }
  | { kind: 'read'; path: string; reader: FileReader; chain: Promise<void> }
  | { kind: 'write'; path: string; writer: FileWriter; chain: Promise<void> };

/**
 * Answers one SFTP session's requests in an environment's data folder, seen as `/`. The
 * agent is opened at the first request; `allowed()` is asked before each one, so a suspended
 * customer or a deleted environment gets nothing more, and `end()` drops the connection.
 */
export function serveSftp(ctx: Context, sftp: SFTPWrapper, environmentId: string, allowed: () => boolean, end: () => void): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  let files: Promise<EnvironmentFiles> | null = null;
  let lastRequest = Date.now();
  const idle = setInterval(() => {
    if (Date.now() - lastRequest > IDLE_MS) end();
  }, 60_000);
  idle.unref();
  let allowedAt = 0;

  const open = (): Promise<EnvironmentFiles> => {
    if (!files) {
      const env = ctx.repos.environments.get(environmentId);
      files = env ? openEnvironmentFiles(ctx, env) : Promise.reject(new KuraError('not_found', 'the environment no longer exists'));
      files.catch(() => { files = null; });
    }
    return files.then((f) => {
      if (f.alive) return f;
      files = null;
      return open();
    });
  };

  const fail = (reqid: number, err: unknown) => {
    if (!(err instanceof KuraError)) ctx.log.error({ err: errorMessage(err), environmentId }, 'sftp request failed');
    const message = err instanceof KuraError ? (err.customerMessage ?? err.message) : 'the request failed';
    const code = !(err instanceof KuraError) ? STATUS_CODE.FAILURE
      : err.code === 'not_found' ? STATUS_CODE.NO_SUCH_FILE
        : err.code === 'bad_request' && /outside/.test(err.message) ? STATUS_CODE.PERMISSION_DENIED
          : STATUS_CODE.FAILURE;
    sftp.status(reqid, code, message);
  };

  /** Runs a request: checks the session may go on, checks the path, answers any refusal. */
  const handle = <A extends unknown[]>(name: string, work: (reqid: number, ...args: A) => Promise<void>) => {
    sftp.on(name as 'OPEN', ((reqid: number, ...args: A) => {
      const now = Date.now();
      lastRequest = now;
      // Asked at most once a second: a large upload is thousands of requests, and the sweep ends sessions anyway.
      if (now - allowedAt > 1000) {
        if (!allowed()) {
          sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'this session has ended: the account is suspended or the environment deleted');
          end();
          return;
        }
        allowedAt = now;
      }
      work(reqid, ...args).catch((err: unknown) => fail(reqid, err));
    }) as never);
  };

  const path = (raw: string): string => {
    const c = sftpPath(raw);
    if ('refused' in c) throw new KuraError('bad_request', c.refused);
    return c.path;
  };

  const newHandle = (h: Handle): Buffer => {
    if (handles.size >= MAX_HANDLES) throw new KuraError('rate_limited', `at most ${MAX_HANDLES} files and folders may be open in one session`);
    const id = nextHandle++;
    handles.set(id, h);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const handleOf = (b: Buffer): Handle => {
    const h = b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined;
    if (!h) throw new KuraError('bad_request', 'no such open file');
    return h;
  };
  const idOf = (b: Buffer): number => b.readUInt32BE(0);
  /** Requests on one open file run in the order they came, as SFTP's pipelined reads and writes expect. */
  const serial = (h: { chain: Promise<void> }, work: () => Promise<void>): Promise<void> => {
    const next = h.chain.then(work);
    h.chain = next.catch(() => {});
    return next;
  };
  const ok = (reqid: number) => sftp.status(reqid, STATUS_CODE.OK);

  handle('REALPATH', async (reqid, raw: string) => {
    const p = path(raw);
    const f = await open();
    const real = await f.realpath(p).catch((err: unknown) => {
      if (err instanceof KuraError && err.code === 'not_found') return sftpName(p);
      throw err;
    });
    sftp.name(reqid, [{ filename: real, longname: real, attrs: {} as Attributes }]);
  });

  const statOf = async (reqid: number, raw: string, follow: boolean) => {
    const p = path(raw);
    const st = await (await open()).stat(p, follow);
    if (!st) throw new KuraError('not_found', `"${sftpName(p)}": no such file or folder`);
    sftp.attrs(reqid, attrsOf(st));
  };
  handle('STAT', (reqid, raw: string) => statOf(reqid, raw, true));
  handle('LSTAT', (reqid, raw: string) => statOf(reqid, raw, false));

  handle('OPENDIR', async (reqid, raw: string) => {
    const p = path(raw);
    const st = await (await open()).stat(p, true);
    if (!st) throw new KuraError('not_found', `"${sftpName(p)}": no such folder`);
    if (st.type !== 'dir') throw new KuraError('bad_request', `"${sftpName(p)}" is not a folder`);
    sftp.handle(reqid, newHandle({ kind: 'dir', path: p, entries: null, sent: 0 }));
  });

  handle('READDIR', async (reqid, b: Buffer) => {
    const h = handleOf(b);
    if (h.kind !== 'dir') throw new KuraError('bad_request', 'not an open folder');
    h.entries ??= await (await open()).list(h.path);
    const batch = h.entries.slice(h.sent, h.sent + NAMES_PER_ANSWER);
    if (batch.length === 0) {
      sftp.status(reqid, STATUS_CODE.EOF);
      return;
    }
    h.sent += batch.length;
    sftp.name(reqid, batch.map(nameOf));
  });

  handle('OPEN', async (reqid, raw: string, flags: number, attrs: Attributes) => {
    const p = path(raw);
    if (p === '') throw new KuraError('bad_request', '"/" is the data folder, not a file');
    const f = await open();
    if (!(flags & OPEN_MODE.WRITE)) {
      const st = await f.stat(p, true);
      if (!st) throw new KuraError('not_found', `"${sftpName(p)}": no such file`);
      if (st.type === 'dir') throw new KuraError('bad_request', `"${sftpName(p)}" is a folder`);
      if (st.type !== 'file') throw new KuraError('bad_request', `"${sftpName(p)}" is not a regular file`);
      sftp.handle(reqid, newHandle({ kind: 'read', path: p, reader: new FileReader(f, p), chain: Promise.resolve() }));
      return;
    }
    // One command: checked, created or emptied now (so an error comes at the open, where clients expect it).
    const size = await f.openForWrite(p, { create: Boolean(flags & OPEN_MODE.CREAT), truncate: Boolean(flags & OPEN_MODE.TRUNC),
      exclusive: Boolean(flags & OPEN_MODE.EXCL), ...(attrs && typeof attrs.mode === 'number' ? { mode: attrs.mode } : {}) });
    sftp.handle(reqid, newHandle({ kind: 'write', path: p, writer: new FileWriter(f, p, size), chain: Promise.resolve() }));
  });

  handle('READ', async (reqid, b: Buffer, offset: number, length: number) => {
    const h = handleOf(b);
    if (h.kind !== 'read') throw new KuraError('bad_request', 'this file was not opened for reading');
    await serial(h, async () => {
      const data = await h.reader.read(offset, length);
      if (data) sftp.data(reqid, data);
      else sftp.status(reqid, STATUS_CODE.EOF);
    });
  });

  handle('WRITE', async (reqid, b: Buffer, offset: number, data: Buffer) => {
    const h = handleOf(b);
    if (h.kind !== 'write') throw new KuraError('bad_request', 'this file was not opened for writing');
    await serial(h, async () => {
      await h.writer.write(offset, data);
      ok(reqid);
    });
  });

  handle('FSTAT', async (reqid, b: Buffer) => {
    const h = handleOf(b);
    const st = await (await open()).stat(h.path, true);
    if (!st) throw new KuraError('not_found', `"${sftpName(h.path)}" is gone`);
    sftp.attrs(reqid, attrsOf(st));
  });

  const setstat = async (p: string, attrs: Attributes) => {
    const f = await open();
    if (typeof attrs.mode === 'number') await f.chmod(p, attrs.mode);
    if (typeof attrs.mtime === 'number') await f.touch(p, attrs.mtime);
    // Owners are the template's user by design: a change of uid or gid is left as it is.
  };
  handle('SETSTAT', async (reqid, raw: string, attrs: Attributes) => {
    await setstat(path(raw), attrs);
    ok(reqid);
  });
  handle('FSETSTAT', async (reqid, b: Buffer, attrs: Attributes) => {
    const h = handleOf(b);
    // Times set after writing must not be undone by bytes still held: they are written first.
    if (h.kind === 'write') await serial(h, () => h.writer.flush());
    await setstat(h.path, attrs);
    ok(reqid);
  });

  handle('CLOSE', async (reqid, b: Buffer) => {
    const h = handleOf(b);
    handles.delete(idOf(b));
    if (h.kind === 'read') h.reader.close();
    if (h.kind === 'write') {
      try {
        await serial(h, () => h.writer.flush());
      } finally {
        h.writer.close();
      }
    }
    ok(reqid);
  });

  handle('MKDIR', async (reqid, raw: string, attrs: Attributes) => {
    const p = path(raw);
    const f = await open();
    await f.mkdir(p);
    if (attrs && typeof attrs.mode === 'number') await f.chmod(p, attrs.mode);
    ok(reqid);
  });
  handle('RMDIR', async (reqid, raw: string) => {
    await (await open()).remove(path(raw), { dirOnly: true });
    ok(reqid);
  });
  handle('REMOVE', async (reqid, raw: string) => {
    await (await open()).remove(path(raw));
    ok(reqid);
  });
  handle('RENAME', async (reqid, from: string, to: string) => {
    await (await open()).rename(path(from), path(to));
    ok(reqid);
  });
  handle('READLINK', async (reqid, raw: string) => {
    const target = await (await open()).readlink(path(raw));
    sftp.name(reqid, [{ filename: target, longname: target, attrs: {} as Attributes }]);
  });
  handle('SYMLINK', async (reqid) => {
    sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, 'symbolic links cannot be made over SFTP here');
  });

  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(idle);
    for (const h of handles.values()) {
      if (h.kind === 'read') h.reader.close();
      if (h.kind === 'write') h.writer.close();
    }
    handles.clear();
    files?.then((f) => f.close(), () => {});
  };
  // The client's end of input is the session's end: the channel closes, and the client exits.
  sftp.on('end', () => {
    finish();
    sftp.end();
  });
  sftp.on('close', finish);
}

function attrsOf(st: FileStat): Attributes {
  return { mode: S_IF[st.type] | st.mode, uid: 0, gid: 0, size: st.size, atime: st.mtime, mtime: st.mtime };
}

function nameOf(e: FileEntry): SftpEntry {
  const mtime = Math.floor(Date.parse(e.modifiedAt) / 1000);
  const attrs = attrsOf({ type: e.type, size: e.size, mode: e.mode, mtime });
  return { filename: e.name, longname: longname(e, attrs.mode), attrs };
}

/** An `ls -l` line, which clients such as OpenSSH's sftp show as they get it. */
function longname(e: FileEntry, mode: number): string {
  const kind = e.type === 'dir' ? 'd' : e.type === 'link' ? 'l' : '-';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (mode & (1 << (8 - i)) ? c : '-')).join('');
  const when = new Date(e.modifiedAt).toUTCString().slice(5, 22);
  return `${kind}${bits}    1 user     user     ${String(e.size).padStart(10)} ${when} ${e.name}`;
}
