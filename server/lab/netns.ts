// Network namespace + veth pair per node. The nodes reach each other through the host, as a
// fleet's nodes do on their network; nothing is routed beyond the lab's addresses.
import { writeFile } from 'node:fs/promises';
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
  await ensureFleetRouting(p);
}

/** Every lab address (10.231.N.2): the only places a node can send to. */
export const LAB_NET = '10.231.0.0/16';
const FORWARD_RULES = [
  ['-i', `${VETH_PREFIX}+`, '-o', `${VETH_PREFIX}+`, '-d', LAB_NET, '-j', 'ACCEPT'],
  ['-i', `${VETH_PREFIX}+`, '-j', 'DROP'],
];

/**
 * A node reaches the other nodes through the host (a route to the lab's /16 via its host
 * side, and forwarding on that one interface, not the host's others), so an edge on one
 * node can reach an environment on another.
 */
export async function ensureFleetRouting(p: NodePaths): Promise<void> {
  await run('ip', ['-n', p.netns, 'route', 'replace', LAB_NET, 'via', p.hostAddress]);
  await writeFile(`/proc/sys/net/ipv4/conf/${p.veth}/forwarding`, '1');
}

/**
 * The host forwards between lab nodes and drops anything else they send its way, whatever
 * its FORWARD policy. Idempotent; the rules go with the lab (removeForwardGuard).
 */
export async function ensureForwardGuard(): Promise<void> {
  const present = await Promise.all(FORWARD_RULES.map((r) => tryRun('iptables', ['-C', 'FORWARD', ...r])));
  if (present.every(Boolean)) return;
  await removeForwardGuard();
  // Inserted at the top in reverse, so the ACCEPT comes before the DROP.
  for (const r of [...FORWARD_RULES].reverse()) await run('iptables', ['-I', 'FORWARD', ...r]);
}

export async function removeForwardGuard(): Promise<void> {
  for (const r of FORWARD_RULES) {
    for (let i = 0; i < 10 && (await tryRun('iptables', ['-D', 'FORWARD', ...r])); i++) { /* every copy */ }
  }
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
