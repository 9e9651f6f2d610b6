import { randomBytes } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { KuraError, RateLimitedError } from '../lib/errors.js';
import { nodeError } from './errors.js';
import { DockerFrames } from './output.js';
import { AGENT_SCRIPT, ARCHIVE_SCRIPT, READ_SCRIPT, WRITE_SCRIPT } from './file-scripts.js';

/** What reaching a container's files needs from its node's client. */
export interface FileAgentNode {
  name: string;
  api: Docker;
  /** The client without an idle timeout: an agent lives as long as its session. */
  attach: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number): Promise<T>;
}

/** Where the files are and as whom they are reached. */
export interface FileScope {
  /** The template's data folder: nothing outside it is reached. */
  root: string;
  /** The template's user (`uid:gid`), or null for the container's own. */
  user: string | null;
}

export interface AgentAnswer {
  code: number;
  /** The command's output: text, at most MAX_ANSWER_BYTES. */
  out: string;
}

/** The most one answer may hold (a listing of a large folder); an agent that sends more is ended. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** Commands one agent may have waiting: a client that sends more is told to slow down. */
const MAX_QUEUED = 256;
const START_MS = 15_000;
/** The longest one command may take (a listing of a huge folder, a deep delete). */
const ANSWER_MS = 120_000;

/**
 * A shell in the container that runs file commands one after another (file-scripts.ts),
 * so a session's many small requests cost no exec each. Answers are untrusted text: the
 * customer owns the container and its tools.
 */
export class FileAgent {
  private readonly frames: DockerFrames;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve(a: AgentAnswer): void; reject(e: Error): void }> = [];
  private failure: Error | null = null;
  private closed = false;

  private constructor(node: FileAgentNode, private readonly socket: Duplex, private readonly mark: string) {
    this.frames = new DockerFrames();
    socket.pipe(this.frames);
    this.frames.on('data', (chunk: Buffer) => this.take(chunk));
    const end = (err?: Error) => this.fail(err ? nodeError(node.name, 'file agent', err)
      : new KuraError('internal', 'the file session in the environment ended (was it stopped?)'));
    this.frames.on('end', () => end());
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static async open(node: FileAgentNode, containerId: string, scope: FileScope): Promise<FileAgent> {
    // The marker ends each answer; it is the agent's own, so no file name can fake one by chance.
    const mark = randomBytes(12).toString('hex');
    return new FileAgent(node, await startExec(node, containerId, scope, AGENT_SCRIPT, [], { KURA_MARK: mark }, true), mark);
  }

  /** Runs one command; `body` follows a `put`. */
  run(op: string, args: string[], body?: Buffer): Promise<AgentAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting.length >= MAX_QUEUED) {
      return Promise.reject(new RateLimitedError(`more than ${MAX_QUEUED} file requests are waiting in this session`, 1));
    }
    return new Promise((resolve, reject) => {
      // An answer that never comes (the customer's own tools can hang) ends the agent, not the caller's patience.
      const timer = setTimeout(() => this.fail(new KuraError('internal', `the environment did not answer a file command within ${ANSWER_MS / 1000} s`)), ANSWER_MS);
      timer.unref();
      this.waiting.push({
        resolve: (a) => { clearTimeout(timer); resolve(a); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      const command = Buffer.from(`${op}\n${args.join('\n')}\n`);
      // One write: a command split over two small packets waits out the node's delayed ACK.
      this.socket.write(body && body.length > 0 ? Buffer.concat([command, body]) : command);
    });
  }

  get alive(): boolean {
    return this.failure === null;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private take(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const at = this.buffer.indexOf(`\n${this.mark} `);
      if (at < 0) break;
      const eol = this.buffer.indexOf('\n', at + 1 + this.mark.length);
      if (eol < 0) break;
      const code = Number(this.buffer.subarray(at + 2 + this.mark.length, eol).toString('latin1'));
      const out = this.buffer.subarray(0, at).toString('utf8');
      this.buffer = this.buffer.subarray(eol + 1);
      this.waiting.shift()?.resolve({ code: Number.isInteger(code) ? code : 1, out });
    }
    if (this.buffer.length > MAX_ANSWER_BYTES) {
      this.fail(new KuraError('internal', `an answer from the environment passed ${MAX_ANSWER_BYTES / 1048576} MiB`));
      this.socket.destroy();
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = this.closed ? new KuraError('internal', 'the file session is closed') : err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    this.socket.destroy();
  }
}

/** An exec reading or writing one file's bytes. `done` tells how it ended: its exit code and its first words. */
export interface FileStream {
  /** Read side: the file's bytes (read, archive). Write side: what the file receives (write). */
  stream: Duplex;
  output: Readable;
  done(): Promise<{ code: number; message: string }>;
  close(): void;
}

/** A file's bytes from `offset`, streamed. */
export function readStream(node: FileAgentNode, id: string, scope: FileScope, path: string, offset = 0): Promise<FileStream> {
  return fileStream(node, id, scope, READ_SCRIPT, [path, String(offset)], false);
}

/** A file written from the stream's bytes; `done()` after ending it tells whether it was all written. */
export function writeStream(node: FileAgentNode, id: string, scope: FileScope, path: string, mode: 'truncate' | 'append'): Promise<FileStream> {
  return fileStream(node, id, scope, WRITE_SCRIPT, [path, mode], true);
}

/** A folder's contents as a .tar.gz, made inside the container with its own CPU. */
export function archiveStream(node: FileAgentNode, id: string, scope: FileScope, path: string): Promise<FileStream> {
  return fileStream(node, id, scope, ARCHIVE_SCRIPT, [path], false);
}

async function fileStream(node: FileAgentNode, id: string, scope: FileScope, script: string, args: string[], stdin: boolean): Promise<FileStream> {
  let execId = '';
  const socket = await startExec(node, id, scope, script, args, {}, stdin, (e) => { execId = e; });
  const output = new DockerFrames();
  socket.pipe(output);
  // The process has exited once its output ends: a writer still sending must then fail at once,
  // not wait for a drain the node will never give.
  output.on('end', () => socket.destroy());
  // A reader that gives up (a download cut off) closes the output: the process must not go on
  // writing into a connection nobody reads.
  output.on('close', () => socket.destroy());
  const ended = new Promise<void>((resolve) => {
    output.on('end', resolve);
    output.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
  let message = '';
  if (stdin) {
    output.on('data', (c: Buffer) => { if (message.length < 2000) message += c.toString('utf8'); });
  }
  return {
    stream: socket, output,
    async done() {
      await ended;
      const info = await node.call('exec inspect', () => node.api.getExec(execId).inspect());
      return { code: info.ExitCode ?? -1, message: message.trim() };
    },
    close: () => socket.destroy(),
  };
}

async function startExec(node: FileAgentNode, id: string, scope: FileScope, script: string, args: string[],
  env: Record<string, string>, stdin: boolean, onId?: (execId: string) => void): Promise<Duplex> {
  const exec = await node.call('exec create', () => node.api.getContainer(id).exec({
    Cmd: ['/bin/sh', '-c', script, 'kura-files', ...args],
    AttachStdin: stdin, AttachStdout: true, AttachStderr: true, Tty: false,
    Env: [`KURA_ROOT=${scope.root}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
    ...(scope.user ? { User: scope.user } : {}),
  }), START_MS);
  onId?.(exec.id);
  const socket = await node.call('exec start', () => node.attach.getExec(exec.id).start({ hijack: true, stdin }), START_MS) as Duplex;
  // Commands and answers are small and go back and forth: no Nagle delay on them.
  (socket as Duplex & { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
  return socket;
}
