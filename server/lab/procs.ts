// Finding and signalling the processes that belong to a lab node, by reading /proc and cgroupfs.
import { readdir, readFile, readlink, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sleep } from './exec.js';
import type { NodePaths } from './paths.js';

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

export async function procInfo(pid: number): Promise<ProcInfo | null> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself contain spaces or parentheses.
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    const rest = s.slice(close + 2).split(' ');
    return { pid, comm: s.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

/** Alive means it exists and is not a zombie waiting to be reaped. */
export async function isAlive(pid: number): Promise<boolean> {
  const info = await procInfo(pid);
  return info !== null && info.state !== 'Z' && info.state !== 'X';
}

async function allPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^[0-9]+$/.test(n)).map(Number);
}

export async function readPidFile(file: string): Promise<number | null> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** The node's dockerd pid, if its pid file names a live dockerd (pid files outlive processes). */
export async function dockerdPid(p: NodePaths): Promise<number | null> {
  const pid = await readPidFile(p.pidFile);
  if (pid === null) return null;
  const info = await procInfo(pid);
  return info && info.comm === 'dockerd' && info.state !== 'Z' ? pid : null;
}

export async function childrenOf(pid: number): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const p of await allPids()) {
    const info = await procInfo(p);
    if (info && info.ppid === pid) out.push(info);
  }
  return out;
}

/** dockerd plus the containerd it supervises: what pause/resume must stop together. */
export async function daemonPids(p: NodePaths): Promise<number[]> {
  const pid = await dockerdPid(p);
  if (pid === null) return [];
  const kids = await childrenOf(pid);
  return [pid, ...kids.filter((k) => k.comm === 'containerd').map((k) => k.pid)];
}

async function cgroupRoots(): Promise<string[]> {
  try {
    const names = await readdir('/sys/fs/cgroup');
    return names.map((n) => path.join('/sys/fs/cgroup', n));
  } catch {
    return [];
  }
}

/** Every cgroup directory at or below the node's cgroup parent, deepest first. */
async function nodeCgroups(p: NodePaths): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
    found.push(dir);
  };
  for (const root of await cgroupRoots()) await walk(path.join(root, p.cgroupParent));
  return found;
}

/**
 * All processes of a node: anything in its network namespace (dockerd, containerd, shims),
 * anything whose command line names its runtime dir (shims survive a namespace deletion), and
 * every container process (found through the node's cgroups, `cgroups` from nodeCgroups).
 */
export async function nodeProcesses(p: NodePaths, cgroups: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  let nsIno: number | null = null;
  try {
    nsIno = (await stat(p.netnsFile)).ino;
  } catch {
    nsIno = null;
  }
  const marker = `${p.runDir}/`;
  for (const pid of await allPids()) {
    if (pid === process.pid || pid === process.ppid) continue;
    if (nsIno !== null) {
      try {
        if ((await readlink(`/proc/${pid}/ns/net`)) === `net:[${nsIno}]`) pids.add(pid);
      } catch {
        // gone, or a kernel thread
      }
    }
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmd.includes(marker) || cmd.includes(`${p.nodeDir}/`)) pids.add(pid);
    } catch {
      // gone
    }
  }
  for (const cg of cgroups) {
    try {
      for (const line of (await readFile(path.join(cg, 'cgroup.procs'), 'utf8')).split('\n')) {
        if (line.trim()) pids.add(Number(line));
      }
    } catch {
      // not every controller has cgroup.procs readable
    }
  }
  pids.delete(process.pid);
  pids.delete(process.ppid);
  return [...pids];
}

export function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

async function thawFreezers(cgroups: readonly string[]): Promise<void> {
  // A frozen task (docker pause) cannot act on SIGKILL until it is thawed.
  for (const cg of cgroups) {
    if (!cg.startsWith('/sys/fs/cgroup/freezer/')) continue;
    await writeFile(path.join(cg, 'freezer.state'), 'THAWED').catch(() => undefined);
  }
}

/** What a process that will not go is doing: its name, state (D: waiting on the kernel) and kernel wait channel. */
async function describe(pid: number): Promise<string> {
  const info = await procInfo(pid);
  if (!info) return `${pid} (gone)`;
  const wchan = await readFile(`/proc/${pid}/wchan`, 'utf8').catch(() => '');
  return `${pid} ${info.comm} state ${info.state}${wchan && wchan !== '0' ? ` in ${wchan}` : ''}`;
}

/**
 * SIGKILLs every process of the node and waits until they are gone. dockerd and containerd
 * go first, so nothing starts new containers meanwhile; then every round finds the node's
 * processes again (a container still starting adds some) and kills what is alive. It gives
 * up only after `stallMs` in which the number alive did not fall: on a busy machine a round
 * alone can take seconds, and hundreds of exits can take a minute, which is progress, not
 * failure. The error names each process left and what it waits on.
 */
export async function killNodeProcesses(p: NodePaths, stallMs = 30_000): Promise<void> {
  signal(await daemonPids(p), 'SIGKILL');
  let fewest = Infinity;
  let progressAt = Date.now();
  for (;;) {
    // The node's cgroups are walked once a round, for finding its processes and thawing them.
    const cgroups = await nodeCgroups(p);
    const pids = await nodeProcesses(p, cgroups);
    const alive: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
    if (alive.length === 0) return;
    signal(alive, 'SIGKILL');
    await thawFreezers(cgroups);
    if (alive.length < fewest) {
      fewest = alive.length;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) {
      const left = await Promise.all(alive.slice(0, 20).map(describe));
      throw new Error(`${p.name}: ${alive.length} processes did not die within ${stallMs / 1000} s of SIGKILL: `
        + `${left.join('; ')}${alive.length > 20 ? '; …' : ''}`);
    }
    await sleep(200);
  }
}

/** Removes the node's (now empty) cgroup directories. */
export async function removeNodeCgroups(p: NodePaths): Promise<void> {
  for (const cg of await nodeCgroups(p)) await rmdir(cg).catch(() => undefined);
}

/** Indices of nodes that have a cgroup parent, i.e. that once ran containers. */
export async function cgroupIndices(prefix: string): Promise<number[]> {
  const found = new Set<number>();
  for (const root of await cgroupRoots()) {
    try {
      for (const n of await readdir(root)) {
        const m = n.startsWith(prefix) ? /^[0-9]+$/.exec(n.slice(prefix.length)) : null;
        if (m) found.add(Number(m[0]));
      }
    } catch {
      // not a directory
    }
  }
  return [...found];
}
