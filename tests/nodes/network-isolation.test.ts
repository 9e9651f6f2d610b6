// Containers of different customers cannot connect to each other: each customer's containers sit
// on that customer's own bridge network, and nothing routes between two customers' networks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName, customerNetworkName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

const node = () => labNode(2);
const log = (line: string) => process.stderr.write(`network: ${line}\n`);

interface Placed {
  env: any;
  container: string;
  ip: string;
  gateway: string;
  hostPort: number;
}

type Outcome = 'ok' | 'timeout' | 'refused' | 'unreachable' | 'unresolved' | 'other';

/**
 * `wget` from inside a container. busybox 1.35's `wget -T` segfaults (exit 139), so the 3 s
 * deadline comes from `timeout` instead; the outcome says how the attempt ended.
 */
async function fetchFrom(from: Placed, url: string): Promise<{ outcome: Outcome; detail: string }> {
  const t0 = Date.now();
  const r = await dockerResult(node(), 'exec', from.container, 'sh', '-c', `timeout 3 wget -q -O- ${url}; echo "exit=$?"`);
  const ms = Date.now() - t0;
  const code = Number(/exit=(\d+)/.exec(r.stdout)?.[1] ?? -1);
  const err = r.stderr.trim();
  const outcome: Outcome = code === 0 && r.stdout.includes('It works') ? 'ok'
    : /refused/i.test(err) ? 'refused'
      : /unreachable|No route/i.test(err) ? 'unreachable'
        : /bad address|resolve/i.test(err) ? 'unresolved'
          : code !== 0 && code !== 139 && ms >= 2900 ? 'timeout' : 'other';
  const detail = `${from.env.name} -> ${url}: ${outcome} (exit ${code}, ${ms} ms) ${err.split('\n')[0]?.slice(0, 100) ?? ''}`;
  log(detail);
  return { outcome, detail };
}

/** nslookup from inside a container: the addresses it resolved, and its raw output. */
async function lookup(from: Placed, name: string): Promise<{ addresses: string[]; raw: string }> {
  const r = await dockerResult(node(), 'exec', from.container, 'sh', '-c', `timeout 8 nslookup ${name} 2>&1`);
  // Lines after "Name:" are answers; the "Address:" before it is the server (127.0.0.11).
  const answers = r.stdout.split(/^Name:/m).slice(1).join('\n');
  const addresses = [...answers.matchAll(/^Address: ([\d.]+)/gm)].map((m) => m[1]!);
  const raw = (r.stdout + r.stderr).trim();
  log(`${from.env.name}: nslookup ${name} -> ${addresses.join(', ') || raw.split('\n')[0]}`);
  return { addresses, raw };
}

describe('Containers of different customers cannot connect to each other', () => {
  let panel: TestPanel;
  let a: Seed;
  let b: Seed;
  let a1: Placed;
  let a2: Placed;
  let b1: Placed;
  const created: string[] = [];

  async function place(seed: Seed, name: string, nodeId: string): Promise<Placed> {
    const env = await createEnvironment(panel, { name, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    created.push(env.id);
    const c = await inspect(node(), containerName(env.id));
    const net = c.NetworkSettings.Networks[customerNetworkName(seed.customerId)];
    return { env, container: containerName(env.id), ip: net?.IPAddress, gateway: net?.Gateway, hostPort: env.endpoints[0].port };
  }

  beforeAll(async () => {
    panel = await startTestPanel();
    const nodeId = await registerNode(panel, node());
    a = await seedCustomer(panel);
    b = await seedCustomer(panel);
    a1 = await place(a, 'a1', nodeId);
    a2 = await place(a, 'a2', nodeId);
    b1 = await place(b, 'b1', nodeId);
    log(`a1 ${a1.ip} gw ${a1.gateway} :${a1.hostPort}; a2 ${a2.ip}; b1 ${b1.ip} gw ${b1.gateway} :${b1.hostPort}`);
  });

  afterAll(async () => {
    for (const id of created) {
      const del = await panel.api('DELETE', `/environments/${id}`);
      if (del.status === 202) await waitOperation(panel, del.body.operation.id);
    }
    await panel?.close();
  });

  it('puts each container on its own customer\'s network only', async () => {
    for (const [p, seed] of [[a1, a], [a2, a], [b1, b]] as const) {
      const c = await inspect(node(), p.container);
      expect(c.HostConfig.NetworkMode).toBe(customerNetworkName(seed.customerId));
      expect(Object.keys(c.NetworkSettings.Networks)).toEqual([customerNetworkName(seed.customerId)]);
      expect(p.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    expect(a1.gateway).toBe(a2.gateway);
    expect(a1.gateway).not.toBe(b1.gateway);
    // The default bridge and the host network hold none of them.
    for (const shared of ['bridge', 'host']) {
      const net = JSON.parse(await docker(node(), 'network', 'inspect', shared))[0];
      const members = Object.values(net.Containers ?? {}).map((m: any) => m.Name);
      for (const p of [a1, a2, b1]) expect(members).not.toContain(p.container);
    }
    // Each customer network holds exactly that customer's containers.
    for (const [seed, mine] of [[a, [a1, a2]], [b, [b1]]] as const) {
      const net = JSON.parse(await docker(node(), 'network', 'inspect', customerNetworkName(seed.customerId)))[0];
      expect(net.Driver).toBe('bridge');
      expect(net.Labels['io.kura.customer']).toBe(seed.customerId);
      const names = Object.values(net.Containers ?? {}).map((m: any) => m.Name).sort();
      expect(names).toEqual(mine.map((p) => p.container).sort());
    }
  });

  it('lets containers of the same customer reach each other, by address and by name', async () => {
    expect((await fetchFrom(a1, `http://${a2.ip}:8080/`)).outcome).toBe('ok');
    expect((await fetchFrom(a2, `http://${a1.ip}:8080/`)).outcome).toBe('ok');
    expect((await fetchFrom(a1, 'http://a2:8080/')).outcome).toBe('ok');
    expect((await lookup(a1, 'a2')).addresses).toEqual([a2.ip]);
  });

  it('stops A from reaching B and B from reaching A', async () => {
    // Dropped, not refused: a refusal would mean the other customer's container answered.
    const results = await Promise.all([
      fetchFrom(a1, `http://${b1.ip}:8080/`),
      fetchFrom(a2, `http://${b1.ip}:8080/`),
      fetchFrom(b1, `http://${a1.ip}:8080/`),
      fetchFrom(b1, `http://${a2.ip}:8080/`),
    ]);
    for (const r of results) expect(['timeout', 'unreachable'], r.detail).toContain(r.outcome);
  });

  it('does not let B in through A\'s gateway, A\'s names or the host side of the bridges', async () => {
    const [results, lookups, hairpin] = await Promise.all([
      Promise.all([
        fetchFrom(b1, `http://${a1.gateway}:8080/`), // A's bridge address on the container port
        fetchFrom(b1, `http://${a1.gateway}:${a1.hostPort}/`), // A's bridge address, A1's published port
        fetchFrom(b1, `http://${b1.gateway}:${a1.hostPort}/`), // B's own gateway, A1's published port
      ]),
      Promise.all(['a1', a1.container].map((name) => lookup(b1, name))), // A's alias and container name
      // Informational only: A1's public endpoint, from B on the same node (hairpin NAT through the host).
      fetchFrom(b1, `http://${a1.env.endpoints[0].host}:${a1.hostPort}/`),
    ]);
    // The host itself may refuse (nothing listens on its bridge address); A must never answer.
    for (const r of results) expect(['timeout', 'unreachable', 'refused'], r.detail).toContain(r.outcome);
    // B's resolver does not know A's names: the lookup ran and found nothing.
    for (const r of lookups) {
      expect(r.addresses).toEqual([]);
      expect(r.raw).toMatch(/timed out|can't find|NXDOMAIN|no servers/);
    }
    expect(hairpin.outcome).not.toBe('other');
  });

  it('removes the environments, and with the last one each customer network', async () => {
    for (const id of created.splice(0)) {
      const del = await panel.api('DELETE', `/environments/${id}`);
      expect(del.status).toBe(202);
      const op = await waitOperation(panel, del.body.operation.id);
      expect(op.status, JSON.stringify(op)).toBe('succeeded');
    }
    const networks = await docker(node(), 'network', 'ls', '--format', '{{.Name}}');
    expect(networks.split('\n')).not.toContain(customerNetworkName(a.customerId));
    expect(networks.split('\n')).not.toContain(customerNetworkName(b.customerId));
  });
});
