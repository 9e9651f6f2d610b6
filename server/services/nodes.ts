import { parseEndpoint } from '../docker/node-client.js';
import { probeNode } from '../docker/registry.js';
import type { NodeRecord } from '../domain/types.js';
import type { NodePatch } from '../db/repos/nodes.js';
import { BadRequestError, ConflictError, KuraError, NodeUnavailableError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { probeImage } from '../templates/panel-images.js';
import { removeEdge } from './edge.js';
import type { Context } from '../core/context.js';
import { nodeView } from '../read-models/views.js';

export interface RegisterNodeInput {
  name: string;
  endpoint: string;
  tls?: { ca: string; cert: string; key: string } | undefined;
  publicHost?: string | undefined;
  maxEnvironments?: number | undefined;
  allowUnenforcedDisk?: boolean | undefined;
}

/** Connects to the engine first; only a node that answered, over verified TLS, is recorded. */
export async function registerNode(ctx: Context, input: RegisterNodeInput): Promise<NodeRecord> {
  const ep = parseEndpoint(input.endpoint);
  if (ep.kind === 'tcp' && !input.tls) {
    throw new BadRequestError('a tcp:// endpoint needs tls (ca, cert, key): Kura only talks to remote engines over mutual TLS', { field: 'tls' });
  }
  if (ep.kind === 'unix' && input.tls) throw new BadRequestError('tls applies to tcp:// endpoints only', { field: 'tls' });
  if (input.tls) {
    for (const [field, pem] of Object.entries(input.tls)) {
      if (!/-----BEGIN [A-Z ]+-----/.test(pem)) throw new BadRequestError(`tls.${field} is not a PEM block`, { field: `tls.${field}` });
    }
  }
  if (ctx.repos.nodes.byName(input.name)) throw new ConflictError(`a node named ${input.name} exists`, { field: 'name' });

  let probe;
  try {
    probe = await probeNode({ name: input.name, endpoint: input.endpoint, tls: input.tls }, await probeImage(ctx.config.imageCacheDir));
  } catch (err) {
    if (!(err instanceof KuraError)) throw err;
    const tls = err instanceof NodeUnavailableError && err.failure === 'tls';
    throw new BadRequestError(`could not register ${input.name}: ${err.message}`, { field: tls ? 'tls' : 'endpoint' });
  }
  const id = newId('node');
  return ctx.repos.nodes.insert({
      id, name: input.name, endpoint: input.endpoint,
      publicHost: input.publicHost ?? (ep.kind === 'tcp' ? ep.host : '127.0.0.1'),
      tls: { ca: input.tls?.ca ?? null, cert: input.tls?.cert ?? null, keySealed: input.tls ? ctx.secrets.seal(input.tls.key) : null },
      capacity: { cpus: probe.cpus, memoryMb: probe.memoryMb, diskMb: null }, cpuOvercommit: 4,
      maxEnvironments: input.maxEnvironments ?? 30, diskQuota: probe.diskQuota,
      allowUnenforcedDisk: input.allowUnenforcedDisk ?? false, dockerVersion: probe.dockerVersion, storageDriver: probe.storageDriver,
    });
}

export function getNode(ctx: Context, id: string): NodeRecord {
  const node = ctx.repos.nodes.get(id);
  if (!node) throw new NotFoundError('node', id);
  return node;
}

export function nodeWithAllocation(ctx: Context, node: NodeRecord) {
  return nodeView(ctx, node, ctx.repos.nodes.allocation(node.id));
}

export function patchNode(ctx: Context, id: string, patch: NodePatch): NodeRecord {
  getNode(ctx, id);
  ctx.repos.nodes.patch(id, patch);
  return getNode(ctx, id);
}

export async function deleteNode(ctx: Context, id: string): Promise<void> {
  getNode(ctx, id);
  ctx.repos.db.transaction(() => {
    const count = ctx.repos.environments.countOnNode(id);
    if (count > 0) throw new ConflictError(`node has ${count} environments; move or delete them first`);
    ctx.repos.nodes.remove(id);
  }).immediate();
  ctx.edges.delete(id);
  // The panel's edge goes with the node; a node that does not answer within a few seconds keeps it.
  if (ctx.config.edge) await Promise.race([removeEdge(ctx, id), new Promise((r) => setTimeout(r, 3000))]);
  ctx.nodes.forget(id);
}
