import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { KuraError } from '../lib/errors.js';

/** How the panel logs in to a source machine. */
export interface SourceLogin {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  privateKey?: string | undefined;
}

/** Why a source could not be read, in the words the operator sees. */
export class SourceError extends KuraError {
  constructor(readonly reason: 'unreachable' | 'authentication' | 'timeout' | 'failed', message: string) {
    super('bad_request', message);
  }
}

export interface SourceRead {
  output: string;
  /** "SHA256:…", as ssh-keygen -l shows the key the source presented. */
  hostKey: string;
}

const CONNECT_MS = 10_000;
const MAX_OUTPUT = 8 * 1048576;

/**
 * Logs in and runs one read-only script with `sh` (no terminal, so nothing is recorded as a
 * login session), answering its output and the host key the source presented. A source
 * that cannot be reached, refuses the login, or stops sending for `idleMs` fails with a
 * SourceError that says which; nothing hangs past `totalMs`.
 */
export function readSource(login: SourceLogin, script: string, opts: { idleMs?: number; totalMs?: number } = {}): Promise<SourceRead> {
  const idleMs = opts.idleMs ?? 30_000;
  const totalMs = opts.totalMs ?? 10 * 60_000;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKey = '';
    let settled = false;
    let output = '';
    let idle: NodeJS.Timeout | undefined;
    const where = `${login.host}:${login.port}`;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(idle);
      client.end();
      client.destroy();
      if (err) reject(err); else resolve({ output, hostKey });
    };
    const total = setTimeout(() => finish(new SourceError('timeout', `${where} timed out: the source did not finish answering within ${Math.round(totalMs / 1000)} s`)), totalMs);
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new SourceError('timeout', `${where} timed out: the source stopped answering for ${Math.round(idleMs / 1000)} s`)), idleMs);
    };
    client.on('ready', () => {
      touch();
      client.exec(script, (err, stream) => {
        if (err) return finish(new SourceError('failed', `${where} refused to run the read-only commands: ${err.message}`));
        stream.on('data', (chunk: Buffer) => {
          touch();
          if (output.length + chunk.length > MAX_OUTPUT) return finish(new SourceError('failed', `${where} sent more than ${MAX_OUTPUT / 1048576} MiB of facts`));
          output += chunk.toString('utf8');
        });
        stream.stderr.on('data', () => touch());
        stream.on('close', () => finish(null));
      });
    });
    client.on('error', (err) => finish(sourceError(login, err)));
    client.on('close', () => finish(new SourceError('failed', `${where} closed the connection before answering`)));
    try {
      client.connect(connectOptions(login, (key) => { hostKey = key; }));
    } catch (err) {
      finish(new SourceError('failed', `${where}: ${(err as Error).message}`));
    }
  });
}

/** A command's output streaming from the source; `done` tells how it ended. */
export interface SourceStream {
  stdout: NodeJS.ReadableStream;
  hostKey: string;
  done: Promise<{ code: number | null; stderr: string }>;
  close(): void;
}

/**
 * Runs one read-only command on the source and hands its output over as a stream (never held
 * whole). A source that stops sending for `idleMs` is cut off and `done` rejects saying so.
 */
export function streamFromSource(login: SourceLogin, command: string, opts: { idleMs?: number } = {}): Promise<SourceStream> {
  const idleMs = opts.idleMs ?? 60_000;
  const where = `${login.host}:${login.port}`;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKey = '';
    let started = false;
    const fail = (err: Error) => {
      if (started) return;
      started = true;
      client.destroy();
      reject(sourceError(login, err));
    };
    client.on('error', fail);
    client.on('ready', () => {
      client.exec(command, (err, stream) => {
        if (err) return fail(err);
        started = true;
        let stderr = '';
        let idle: NodeJS.Timeout | undefined;
        let cutOff = false;
        const touch = () => {
          clearTimeout(idle);
          idle = setTimeout(() => { cutOff = true; stream.destroy(); client.destroy(); }, idleMs);
        };
        touch();
        stream.on('data', touch);
        stream.stderr.on('data', (c: Buffer) => { touch(); if (stderr.length < 4000) stderr += c.toString('utf8'); });
        const done = new Promise<{ code: number | null; stderr: string }>((ok, no) => {
          let code: number | null = null;
          stream.on('exit', (c: number | null) => { code = c; });
          stream.on('close', () => {
            clearTimeout(idle);
            client.end();
            if (cutOff) no(new SourceError('timeout', `${where} timed out: the source stopped sending for ${Math.round(idleMs / 1000)} s`));
            else ok({ code, stderr });
          });
        });
        done.catch(() => {});
        resolve({ stdout: stream, hostKey, done, close: () => { stream.destroy(); client.destroy(); } });
      });
    });
    try {
      client.connect(connectOptions(login, (key) => { hostKey = key; }));
    } catch (err) {
      fail(err as Error);
    }
  });
}

/** The login as ssh2 takes it; the key the source presents is handed to `onHostKey` as ssh-keygen -l shows it. */
function connectOptions(login: SourceLogin, onHostKey: (fingerprint: string) => void): ssh2.ConnectConfig {
  return {
    host: login.host, port: login.port, username: login.user, readyTimeout: CONNECT_MS,
    ...(login.password !== undefined ? { password: login.password } : {}),
    ...(login.privateKey !== undefined ? { privateKey: login.privateKey } : {}),
    hostVerifier: (key: Buffer) => {
      onHostKey(`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`);
      return true;
    },
  };
}

/** ssh2's error in the operator's words: unreachable, authentication failed, timed out, or what else it said. */
function sourceError(login: SourceLogin, err: Error & { level?: string; code?: string }): SourceError {
  const where = `${login.host}:${login.port}`;
  if (err instanceof SourceError) return err;
  if (err.level === 'client-authentication') return new SourceError('authentication', `authentication failed for ${login.user}@${where}: check the password or key`);
  if (err.level === 'client-timeout') return new SourceError('timeout', `${where} timed out: no SSH greeting within ${CONNECT_MS / 1000} s`);
  if (err.code && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(err.code)) {
    return new SourceError('unreachable', `${where} is unreachable (${err.code})`);
  }
  return new SourceError('failed', `${where}: ${err.message}`);
}

/** A word for the source's sh, quoted so that nothing in it is read as shell syntax. */
export const shellWord = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
