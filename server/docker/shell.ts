import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { KuraError } from '../lib/errors.js';
import { isConflict, isNotFound } from './errors.js';

/** A shell in a container, as the web console uses it. */
export interface Shell {
  /** Written: the shell's terminal input. Read: its raw terminal output. */
  stream: Duplex;
  resize(cols: number, rows: number): Promise<void>;
  /** Drops the connection and ends every process started from this shell. */
  close(): Promise<void>;
}

/** Bash where the image has it, else sh: one exec either way. */
const SHELL_CMD = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash; fi; exec /bin/sh'];
/**
 * Docker has no call to end an exec, and dropping a TTY exec's connection leaves its
 * shell running. Every console process carries a marker in its environment ($1 here);
 * this script, run in the container as its own user, hangs them up, then kills what is
 * left a second later (background jobs included).
 */
const END_SHELL_SCRIPT = 'p() { for d in /proc/[0-9]*; do grep -q "$1" "$d/environ" 2>/dev/null && echo "${d#/proc/}"; done; }; '
  + 'x=$(p "$1"); [ -n "$x" ] || exit 0; kill -HUP $x 2>/dev/null; sleep 1; '
  + 'x=$(p "$1"); [ -n "$x" ] && kill -KILL $x 2>/dev/null; exit 0';

/** What a shell needs from its node's client: deadline-wrapped calls and its Docker connections. */
export interface ShellNode {
  name: string;
  /** The client for short calls (create, resize). */
  inspectExec: Docker;
  /** The client without an idle timeout: the hijacked connection lives as long as the console. */
  attach: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number): Promise<T>;
  exec(id: string, cmd: string[], deadlineMs: number): Promise<{ exitCode: number; output: string }>;
}

/**
 * An interactive shell in a running container, as the container's own user, with a
 * terminal of the given size. `close()` also ends the processes started from it.
 */
export async function openShell(node: ShellNode, id: string, size: { cols: number; rows: number }, resizeDeadlineMs: number): Promise<Shell> {
  const marker = `KURA_CONSOLE=${randomBytes(12).toString('hex')}`;
  const exec = await node.call('exec create', () => node.inspectExec.getContainer(id).exec({
    Cmd: SHELL_CMD, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    Env: ['TERM=xterm-256color', marker], ConsoleSize: [size.rows, size.cols],
  }));
  const stream = await node.call('exec start', () => node.attach.getExec(exec.id).start({ hijack: true, stdin: true, Tty: true }));
  const resize = async (cols: number, rows: number): Promise<void> => {
    await node.call('exec resize', () => node.inspectExec.getExec(exec.id).resize({ w: cols, h: rows }), resizeDeadlineMs);
  };
  let ended: Promise<void> | null = null;
  const close = (): Promise<void> => ended ??= (async () => {
    stream.destroy();
    await endShell(node, id, marker);
  })();
  try {
    // Engines before API 1.42 ignore ConsoleSize, and may refuse a resize until the process has started.
    await retry(() => resize(size.cols, size.rows), 5, 100);
  } catch (err) {
    await close();
    throw err;
  }
  return { stream, resize, close };
}

async function endShell(node: ShellNode, id: string, marker: string): Promise<void> {
  try {
    const done = await node.exec(id, ['/bin/sh', '-c', END_SHELL_SCRIPT, 'kura-end-console', marker], 15_000);
    if (done.exitCode !== 0) {
      throw new KuraError('internal', `node ${node.name}: ending a console's processes failed (${done.exitCode}): ${done.output.slice(0, 300)}`);
    }
  } catch (err) {
    // A container that stopped or went away took the shell with it.
    if (isConflict(err) || isNotFound(err)) return;
    throw err;
  }
}

async function retry(fn: () => Promise<void>, attempts: number, delayMs: number): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await fn();
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs * i));
    }
  }
}
