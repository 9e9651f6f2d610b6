// Network namespace + veth pair per node. Nothing is routed beyond the /24 shared with the host.
import { run, sleep, tryRun } from './exec.js';
import { indexFromName, NETNS_PREFIX, VETH_PREFIX, type NodePaths } from './paths.js';

export async function listNetns(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const i = indexFromName(name, NETNS_PREFIX);
    if (i !== null) out.set(i, name);
  }
  return out;
}

export async function listVeths(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  for (const line of stdout.split('\n')) {
    // "12: klab3@if2: <...>" — the part after @ names the peer.
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    const i = m?.[1] ? indexFromName(m[1], VETH_PREFIX) : null;
    if (i !== null && m?.[1]) out.set(i, m[1]);
  }
  return out;
}

export async function createNetwork(p: NodePaths): Promise<void> {
  await run('ip', ['netns', 'add', p.netns]);
  // The peer is created directly inside the namespace, so it can be called eth0 without
  // clashing with the host's own eth0.
  await run('ip', ['link', 'add', p.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
  await run('ip', ['addr', 'add', `${p.hostAddress}/24`, 'dev', p.veth]);
  await run('ip', ['link', 'set', p.veth, 'up']);
  await run('ip', ['-n', p.netns, 'addr', 'add', `${p.address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', p.netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', p.netns, 'link', 'set', 'lo', 'up']);
}

/** Best effort: each step may already be undone by an earlier, interrupted cleanup. */
export async function destroyNetwork(p: NodePaths): Promise<void> {
  const hadNetns = await tryRun('ip', ['netns', 'delete', p.netns]);
  // Deleting the namespace takes the peer with it, which removes the host side; an orphan
  // host side (its namespace deleted by hand) needs deleting on its own.
  // Namespace teardown is asynchronous in the kernel, so wait for the host side to vanish
  // before the same name is created again.
  for (let i = 0; i < 50; i++) {
    if (!(await tryRun('ip', ['link', 'show', p.veth]))) return;
    if (!hadNetns || i === 20) await tryRun('ip', ['link', 'delete', p.veth]);
    await sleep(100);
  }
  await run('ip', ['link', 'delete', p.veth]);
}
