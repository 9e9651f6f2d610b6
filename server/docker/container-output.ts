import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { NodeCallError } from '../lib/errors.js';
import { nodeError } from './errors.js';
import { demux, readCapped, OUTPUT_CAP_BYTES, type CappedOutput } from './output.js';

/** A container's new log output, as text. */
export interface LogFollow {
  /** stdout and stderr, demultiplexed, decoded as UTF-8 (emits strings). Pausing it stops reading from the node. */
  stream: Readable;
  close(): void;
}

export interface ExecResult {
  exitCode: number;
  /** At most OUTPUT_CAP_BYTES of stdout and stderr, with a marker line when more was left out. */
  output: string;
  truncated: boolean;
}

/** What reading a container's output needs from its node's client: deadline-wrapped calls and its connections. */
export interface OutputNode {
  name: string;
  api: Docker;
  /** The pool log follows use, so many open log views cannot starve other calls. */
  follow: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number): Promise<T>;
}

/** The last `tail` lines a container wrote; at most OUTPUT_CAP_BYTES of them are kept (the newest), with a marker. */
export async function readLogs(node: OutputNode, id: string, tail: number, deadlineMs: number): Promise<string> {
  const modem = node.api.modem as { dial(o: object, cb: (err: unknown, stream: unknown) => void): void };
  const started = performance.now();
  // Dialled directly: dockerode reads a log that is not followed into one buffer of any size.
  const raw = await openStream(node, 'container logs', () => new Promise<Readable>((resolve, reject) => modem.dial({
    path: `/containers/${encodeURIComponent(id)}/logs?`, method: 'GET', isStream: true,
    statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
    options: { stdout: true, stderr: true, tail, follow: false, timestamps: false },
  }, (err, stream) => (err ? reject(err) : resolve(stream as Readable)))), deadlineMs);
  return (await readWithin(node, 'container logs', raw, { deadlineMs, started }, 'tail')).text;
}

/**
 * Runs a command in a container. At most OUTPUT_CAP_BYTES of output are kept (the rest
 * is counted and marked), and at the deadline the connection is dropped: nothing more
 * is read, however much the command goes on writing.
 */
export async function runExec(node: OutputNode, id: string, cmd: string[], deadlineMs: number, user?: string): Promise<ExecResult> {
  const started = performance.now();
  let exec: Docker.Exec | undefined;
  const raw = await openStream(node, 'container exec', async () => {
    exec = await node.api.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
    return await exec.start({ hijack: true, stdin: false }) as Readable;
  }, deadlineMs);
  const out = await readWithin(node, 'container exec', raw, { deadlineMs, started }, 'head');
  const info = await node.call('exec inspect', () => exec!.inspect());
  return { exitCode: info.ExitCode ?? -1, output: out.text, truncated: out.dropped > 0 };
}

/** Follows a container's stdout and stderr from now on, piped from the node's connection (backpressure). */
export async function followLogs(node: OutputNode, id: string, deadlineMs: number): Promise<LogFollow> {
  const raw = await openStream(node, 'container logs', () => node.follow.getContainer(id).logs({
    follow: true, stdout: true, stderr: true, timestamps: false, since: Date.now() / 1000,
  }) as Promise<unknown> as Promise<Readable>, deadlineMs);
  const text = demux(raw, (err) => nodeError(node.name, 'container logs', err));
  text.setEncoding('utf8');
  return { stream: text, close: () => { raw.destroy(); text.destroy(); } };
}

/** A call that opens a stream: one that opens only after the call's deadline is closed at once instead of left open. */
async function openStream(node: OutputNode, what: string, open: () => Promise<Readable>, deadlineMs: number): Promise<Readable> {
  let abandoned = false;
  try {
    return await node.call(what, async () => {
      const stream = await open();
      if (abandoned) stream.destroy();
      return stream;
    }, deadlineMs);
  } catch (err) {
    abandoned = true;
    throw err;
  }
}

/**
 * Reads an opened output stream to its end, keeping at most OUTPUT_CAP_BYTES. At the
 * deadline the connection is dropped and nothing more is read. The node has answered by then:
 * output that does not end in time is the command's slowness (a failed call), not the
 * node's, so its breaker stays closed.
 */
async function readWithin(node: OutputNode, what: string, raw: Readable, time: { deadlineMs: number; started: number },
  keep: 'head' | 'tail'): Promise<CappedOutput> {
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    raw.destroy();
  }, Math.max(0, time.deadlineMs - (performance.now() - time.started)));
  try {
    const out = await readCapped(demux(raw, (err) => nodeError(node.name, what, err)), OUTPUT_CAP_BYTES, keep);
    if (late) throw new NodeCallError(node.name, what, 504, `the output did not end within the ${time.deadlineMs} ms deadline and is no longer read`);
    return out;
  } finally {
    clearTimeout(timer);
    raw.destroy();
  }
}
