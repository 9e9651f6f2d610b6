import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { KuraError } from '../lib/errors.js';
import { isNotFound } from './errors.js';
import { MIB } from './container-spec.js';
import type { PanelImage } from './panel-image.js';

/** A shell in a container, as the web console uses it. */
export interface Shell {
  /** Written: the shell's terminal input. Read: its raw terminal output. */
  stream: Duplex;
  resize(cols: number, rows: number): Promise<void>;
  /** Drops the connection and ends every process started from this shell. */
  close(): Promise<void>;
}

/**
 * Bash where the image has it, else sh: one exec either way, under the container's own
 * docker-init (a read-only mount of the node's binary, which the customer cannot change)
 * as a subreaper, so background jobs orphaned by the shell stay below it.
 */
const SHELL_CMD = ['/sbin/docker-init', '-s', '--', '/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash; fi; exec /bin/sh'];

/**
 * Docker has no call to end an exec, and dropping a TTY exec's connection leaves its
 * shell running. Every console process carries a marker in its environment ($1 here).
 * This script runs in a container of the panel's own image that shares only the
 * environment's process namespace, so nothing the customer put in their container takes
 * part: it stops every process with the marker and all their descendants (again until
 * no new one appears, so a forking job cannot outrun it), then kills them.
 */
const END_CONSOLE_SCRIPT = `m=$1
procs() { for d in /proc/[0-9]*; do { read -r s < "$d/stat"; } 2>/dev/null || continue; s=\${s##*) }; set -- $s; echo "\${d#/proc/} $2"; done; }
marked() { for d in /proc/[0-9]*; do { tr '\\0' '\\n' < "$d/environ"; } 2>/dev/null | grep -qxF "$m" && echo "\${d#/proc/}"; done; }
tree() { procs | awk -v seed="$(marked | tr '\\n' ' ')" 'BEGIN { n = split(seed, a, " "); for (i = 1; i <= n; i++) t[a[i]] = 1 }
  { pp[$1] = $2 } END { do { c = 0; for (p in pp) if (!(p in t) && (pp[p] in t)) { t[p] = 1; c = 1 } } while (c); for (p in t) if (p in pp) print p }' | sort -n; }
prev=; for r in 1 2 3 4 5 6 7 8 9 10; do t=$(tree); [ -n "$t" ] || exit 0; [ "$t" = "$prev" ] && break; kill -STOP $t 2>/dev/null; prev=$t; done
kill -KILL $t 2>/dev/null; exit 0`;
/** The ending container's own limits: it reads /proc and sends signals, nothing more. */
const END_LIMITS = { Memory: 32 * MIB, PidsLimit: 64, NanoCpus: 500_000_000 };
const END_DEADLINE_MS = 15_000;

/** What a shell needs from its node's client: deadline-wrapped calls and its Docker connections. */
export interface ShellNode {
  name: string;
  /** The client for short calls (create, resize, inspect). */
  api: Docker;
  /** The client without an idle timeout: the hijacked connection lives as long as the console. */
  attach: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number): Promise<T>;
  ensureImage(image: PanelImage): Promise<void>;
  remove(id: string): Promise<void>;
}

/**
 * An interactive shell in a running container, as the container's own user, with a
 * terminal of the given size. `close()` also ends the processes started from it, with
 * `tools`: the panel's own small image (a static busybox), loaded into the node first.
 */
export async function openShell(node: ShellNode, id: string, size: { cols: number; rows: number }, tools: PanelImage,
  resizeDeadlineMs: number): Promise<Shell> {
  // Loaded now, so that ending the console never waits on it.
  await node.ensureImage(tools);
  const marker = `KURA_CONSOLE=${randomBytes(12).toString('hex')}`;
  const exec = await node.call('exec create', () => node.api.getContainer(id).exec({
    Cmd: SHELL_CMD, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    Env: ['TERM=xterm-256color', marker], ConsoleSize: [size.rows, size.cols],
  }));
  const stream = await node.call('exec start', () => node.attach.getExec(exec.id).start({ hijack: true, stdin: true, Tty: true }));
  const resize = async (cols: number, rows: number): Promise<void> => {
    await node.call('exec resize', () => node.api.getExec(exec.id).resize({ w: cols, h: rows }), resizeDeadlineMs);
  };
  let ended: Promise<void> | null = null;
  const close = (): Promise<void> => ended ??= (async () => {
    stream.destroy();
    await endShell(node, id, marker, tools.imageId);
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

/** Ends a console's processes from a container of the panel's image in the environment's process namespace. */
async function endShell(node: ShellNode, id: string, marker: string, imageId: string): Promise<void> {
  let helper: string | null = null;
  try {
    const created = await node.call('container create', () => node.api.createContainer({
      Image: imageId, Cmd: ['/bin/busybox', 'sh', '-c', END_CONSOLE_SCRIPT, 'kura-end-console', marker], User: '0:0',
      Labels: { 'io.kura.tool': 'end-console' }, NetworkDisabled: true,
      HostConfig: {
        PidMode: `container:${id}`, NetworkMode: 'none', ReadonlyRootfs: true, SecurityOpt: ['no-new-privileges'],
        // Reading another user's /proc/<pid>/environ takes these two; KILL signals any of them.
        CapDrop: ['ALL'], CapAdd: ['KILL', 'SYS_PTRACE', 'DAC_OVERRIDE'],
        LogConfig: { Type: 'none', Config: {} }, ...END_LIMITS,
      },
    }));
    helper = created.id;
    await node.call('container start', () => created.start());
    const done = await node.call('container wait', () => created.wait() as Promise<{ StatusCode: number }>, END_DEADLINE_MS);
    if (done.StatusCode !== 0) throw new KuraError('internal', `node ${node.name}: ending a console's processes failed (exit ${done.StatusCode})`);
  } catch (err) {
    // A container that stopped or went away took the shell with it.
    if (!(await running(node, id))) return;
    throw err;
  } finally {
    if (helper) await node.remove(helper);
  }
}

async function running(node: ShellNode, id: string): Promise<boolean> {
  try {
    const c = await node.call('container inspect', () => node.api.getContainer(id).inspect());
    return c.State.Running;
  } catch (err) {
    if (isNotFound(err)) return false;
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
