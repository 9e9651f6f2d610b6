import { NodeClient, type NodeConnection, type NodeFacts } from './node-client.js';
import { NodeCallError } from '../lib/errors.js';
import { MIB } from './container-spec.js';
import type { NodeCallLimits } from './node-gate.js';
import type { PanelImage } from './panel-image.js';


export interface ProbeResult extends NodeFacts {
  diskQuota: boolean;
}

/** What the rest of the panel may call on a node: the client's public face (unit tests put a fake behind it). */
export type NodeApi = Pick<NodeClient, keyof NodeClient>;

/** The seam between the panel and its nodes: one client per node. */
export interface Nodes {
  get(nodeId: string): NodeApi;
  /** Drops a node's client after its connection details change or it is removed. */
  forget(nodeId: string): void;
}

/**
 * Holds one client per node, built on first use and kept: connection pools and TLS
 * sessions are reused instead of rebuilt for every call.
 */
export class NodeRegistry implements Nodes {
  private readonly clients = new Map<string, NodeClient>();

  constructor(
    private readonly connectionOf: (nodeId: string) => NodeConnection,
    private readonly onCall: ((node: string, call: string, ms: number, failed: boolean) => void) | null = null,
    private readonly limits?: NodeCallLimits,
  ) {}

  get(nodeId: string): NodeClient {
    let client = this.clients.get(nodeId);
    if (!client) {
      const c = new NodeClient(this.connectionOf(nodeId), this.limits);
      const report = this.onCall;
      if (report) c.onCall = (call, ms, failed) => report(c.name, call, ms, failed);
      this.clients.set(nodeId, c);
      client = c;
    }
    return client;
  }

  /** Drops a node's client after its connection details change or it is removed. */
  forget(nodeId: string): void {
    this.clients.delete(nodeId);
  }
}

/**
 * Connects to a would-be node and reads what the panel needs to know, including
 * whether its storage driver really enforces a per-container size: a tiny image
 * is loaded and a sized container is created and removed.
 */
export async function probeNode(conn: NodeConnection, probe: PanelImage): Promise<ProbeResult> {
  const client = new NodeClient(conn);
  const facts = await client.facts();
  await client.ensureImage(probe);
  let diskQuota = false;
  let id: string | null = null;
  try {
    id = await client.createContainer({
      Image: probe.imageId, Cmd: ['/probe'], Labels: { 'io.kura.probe': 'disk-quota' },
      HostConfig: { StorageOpt: { size: String(64 * MIB) }, NetworkMode: 'none' },
    });
    diskQuota = true;
  } catch (err) {
    if (!(err instanceof NodeCallError) || !/storage-?opt|storage option|quota/i.test(err.message)) throw err;
  } finally {
    if (id) await client.remove(id);
  }
  return { ...facts, diskQuota };
}

export { NodeClient };
export type { NodeConnection };
