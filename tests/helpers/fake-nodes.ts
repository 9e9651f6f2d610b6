import type { NodeApi, Nodes } from '../../server/docker/registry.js';
import type { ContainerState } from '../../server/docker/node-client.js';
import type { Limits } from '../../server/domain/types.js';
import { HostPortTakenError, NodeCallError, NodeResourceMissingError, NodeUnavailableError } from '../../server/lib/errors.js';

/**
 * A node for unit tests of services, at the one seam the style allows a fake: the node
 * registry. It keeps containers, images and networks in memory and answers like the
 * real client does, errors included; what it was asked is in `calls`. Integration tests
 * never use it: they run real Docker in the lab.
 */
export class FakeNode {
  readonly calls: string[] = [];
  readonly images = new Set<string>();
  readonly networks = new Set<string>();
  readonly containers = new Map<string, { name: string; running: boolean; labels: Record<string, string>; spec: any; diskBytes?: number }>();
  /** Failures to give, once each, by call name (e.g. 'start'). */
  readonly failNext = new Map<string, () => Error>();
  /** Calls held until a test lets them go (see hold). */
  private readonly holds = new Map<string, Promise<void>>();
  /** Every call fails as an unreachable node would. */
  down = false;
  private nextId = 1;

  constructor(readonly name: string) {}

  private enter(call: string): void {
    this.calls.push(call);
    if (this.down) throw new NodeUnavailableError(this.name, call, 'connection refused (ECONNREFUSED)', 'network');
    const fail = this.failNext.get(call);
    if (fail) {
      this.failNext.delete(call);
      throw fail();
    }
  }

  /**
   * The next calls of this name wait until `release` is called, so a test can act while an
   * operation is in the middle of it; `release(error)` makes the held call fail with it.
   */
  hold(call: string): { release(error?: Error): void } {
    let release!: (error?: Error) => void;
    this.holds.set(call, new Promise<void>((resolve, reject) => {
      release = (error) => {
        this.holds.delete(call);
        if (error) reject(error); else resolve();
      };
    }));
    return { release };
  }

  /** Waits while a test holds this call. */
  async held(call: string): Promise<void> {
    await this.holds.get(call);
  }

  /** The next start fails as Docker does when another program holds the host port. */
  takePortOnce(port: number): void {
    this.failNext.set('start', () => new HostPortTakenError(this.name, port, `Bind for 0.0.0.0:${port} failed: port is already allocated`));
  }

  /** The next create fails as Docker does when the node lost the image. */
  loseImageOnce(): void {
    this.failNext.set('create', () => new NodeResourceMissingError(this.name, 'create', 'No such image: x'));
  }

  api(): NodeApi {
    const node = this;
    const client: Partial<NodeApi> = {
      get name() { return node.name; },
      async hasImage(ref) { node.enter('hasImage'); return node.images.has(ref); },
      async pullImage(ref) { node.enter('pull'); node.images.add(ref); },
      async ensureCustomerNetwork(customerId) { node.enter('network'); node.networks.add(customerId); return `kura-net-${customerId}`; },
      async removeCustomerNetworkIfUnused(customerId) { node.enter('removeNetwork'); node.networks.delete(customerId); },
      async publishedPorts() { node.enter('publishedPorts'); return new Set<string>(); },
      async facts() {
        node.enter('facts');
        return { dockerVersion: 'fake', apiVersion: '1.41', cpus: 8, memoryMb: 8192, storageDriver: 'overlay2', dockerRootDir: '/var/lib/docker', architecture: 'x86_64' };
      },
      async createContainer(spec) {
        node.enter('create');
        await node.held('create');
        const name = String(spec.name);
        if ([...node.containers.values()].some((c) => c.name === name)) {
          throw new NodeCallError(node.name, 'container create', 409, `Conflict. The container name "/${name}" is already in use`);
        }
        const id = `c${node.nextId++}`;
        node.containers.set(id, { name, running: false, labels: (spec.Labels ?? {}) as Record<string, string>, spec });
        return id;
      },
      async inspect(id): Promise<ContainerState | null> {
        node.enter('inspect');
        const c = node.containers.get(id) ?? [...node.containers.values()].find((x) => x.name === id);
        if (!c) return null;
        const cid = [...node.containers].find(([, v]) => v === c)![0];
        return { id: cid, name: c.name, imageId: String(c.spec.Image ?? ''), gateways: [], running: c.running, status: c.running ? 'running' : 'exited', exitCode: 0, oomKilled: false, labels: c.labels,
          health: null, hostConfig: { NanoCpus: c.spec.HostConfig?.NanoCpus ?? 0, Memory: c.spec.HostConfig?.Memory ?? 0,
            MemorySwap: c.spec.HostConfig?.MemorySwap ?? 0, PidsLimit: c.spec.HostConfig?.PidsLimit ?? 0 },
          diskBytes: c.spec.HostConfig?.StorageOpt?.size ? Number(c.spec.HostConfig.StorageOpt.size) : null, nofile: null, published: [] } as ContainerState;
      },
      async diskUsage(id) { node.enter('diskUsage'); const c = node.container(id); return { rootFsBytes: c.diskBytes ?? 0, changedBytes: c.diskBytes ?? 0 }; },
      async rename(id, name) { node.enter('rename'); node.container(id).name = name; },
      async start(id) { node.enter('start'); await node.held('start'); node.container(id).running = true; },
      async stop(id) { node.enter('stop'); node.container(id).running = false; },
      async restart(id) { node.enter('restart'); node.container(id).running = true; },
      async stats(id) {
        node.enter('stats');
        const c = node.container(id);
        return { cpuPercent: c.running ? 1.5 : 0, memoryMb: 12, memoryLimitMb: (c.spec.HostConfig?.Memory ?? 0) / 1048576, pids: 3,
          netRxBytes: 100, netTxBytes: 200, diskUsedMb: 1, at: new Date().toISOString() };
      },
      async logs(id) { node.enter('logs'); node.container(id); return 'started\n'; },
      async update(id, limits: Limits) { node.enter('update'); await node.held('update'); node.container(id).spec.limits = limits; },
      async remove(id) {
        node.enter('remove');
        const entry = [...node.containers].find(([cid, c]) => cid === id || c.name === id);
        if (entry) node.containers.delete(entry[0]);
      },
    };
    // What a test did not fake fails loudly, naming the call, instead of passing silently.
    return new Proxy(client, {
      get(target, prop, receiver) {
        if (prop in target) return Reflect.get(target, prop, receiver);
        if (prop === 'then') return undefined;
        return () => { throw new Error(`FakeNode.${String(prop)} is not faked`); };
      },
    }) as NodeApi;
  }

  private container(id: string) {
    const c = this.containers.get(id);
    if (!c) throw new NodeCallError(this.name, 'container', 404, `No such container: ${id}`);
    return c;
  }
}

/** A registry of fake nodes, made on first use by the node's registered name. */
export class FakeNodes {
  readonly byName = new Map<string, FakeNode>();

  node(name: string): FakeNode {
    let n = this.byName.get(name);
    if (!n) this.byName.set(name, (n = new FakeNode(name)));
    return n;
  }

  /** For startTestPanel({ nodes }): the panel asks for clients by node id; the fake keys them by name. */
  registry(): (connectionOf: (nodeId: string) => { name: string }) => Nodes {
    return (connectionOf) => ({
      get: (nodeId) => this.node(connectionOf(nodeId).name).api(),
      forget: () => undefined,
    });
  }
}
