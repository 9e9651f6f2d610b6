import { createHash } from 'node:crypto';
import { EDGE_CONTAINER, EDGE_LABEL, edgeSpec } from '../docker/edge-spec.js';
import { EDGE_ADMIN_SOCKET, EDGE_CONFIG_DIR, EDGE_CONFIG_FILE, edgeConfig, type EdgeChallenge, type EdgeRoute, type EdgeStatus } from '../domain/edge.js';
import { errorMessage } from '../lib/errors.js';
import { edgeImage } from '../templates/panel-images.js';
import type { Context } from '../core/context.js';

/** What every edge serves. */
export interface EdgeTable {
  routes: readonly EdgeRoute[];
  challenges: readonly EdgeChallenge[];
}

/** What the panel last gave a node's edge: its container and the configuration's hash. */
export interface AppliedEdge {
  containerId: string;
  hash: string;
}

const RELOAD_TRIES = 20;

/**
 * Makes a node's edge what the panel wants: the container exists, from the current image,
 * and runs; it serves `table`. The configuration is written into the container and loaded
 * through the control socket by `caddy reload`, which swaps it whole or not at all; it is
 * skipped when the edge already has it. Answers the edge's status.
 */
export async function syncEdge(ctx: Context, nodeId: string, table: EdgeTable, applied: AppliedEdge | undefined):
  Promise<{ status: EdgeStatus; applied?: AppliedEdge }> {
  const node = ctx.repos.nodes.get(nodeId);
  if (!node) return { status: { status: 'error', message: 'the node was removed' } };
  const client = ctx.nodes.get(nodeId);
  try {
    const image = await edgeImage(ctx.config.imageCacheDir);
    let current = await client.inspect(EDGE_CONTAINER);
    if (current && current.labels[EDGE_LABEL] !== ctx.panelId) {
      return { status: { status: 'error', message: `a container named ${EDGE_CONTAINER} that is not this panel's edge holds the node; remove it to let the edge start` } };
    }
    if (current && current.imageId !== image.imageId) {
      await client.remove(current.id);
      current = null;
    }
    if (!current) {
      await client.ensureImage(image);
      const id = await client.createContainer(edgeSpec(image.imageId, ctx.panelId));
      current = await client.inspect(id);
      if (!current) throw new Error('the edge container vanished right after it was made');
    }
    if (!current.running) await client.start(current.id);

    const hash = edgeConfigHash(node.publicHost, table);
    if (applied?.containerId === current.id && applied.hash === hash) return { status: { status: 'running' }, applied };
    // Readable by the edge alone: it holds the certificates' keys.
    await client.files(current.id).writeText(`${EDGE_CONFIG_DIR}/caddy.json`, JSON.stringify(edgeConfig(node.publicHost, table.routes, table.challenges)), 0o600);
    await reload(client, current.id);
    return { status: { status: 'running' }, applied: { containerId: current.id, hash } };
  } catch (err) {
    ctx.log.error({ node: node.name, err: errorMessage(err) }, 'the edge could not be brought up to date');
    return { status: { status: 'error', message: errorMessage(err) } };
  }
}

const digests = new WeakMap<EdgeTable, string>();

/**
 * What tells whether a node's edge already has its configuration: the table's digest (made
 * once per table, however many nodes a pass has) and the node's address.
 */
export function edgeConfigHash(publicHost: string, table: EdgeTable): string {
  let digest = digests.get(table);
  if (!digest) {
    digest = createHash('sha256').update(JSON.stringify(table)).digest('hex');
    digests.set(table, digest);
  }
  return createHash('sha256').update(`${publicHost}\n${digest}`).digest('hex');
}

/** Loads the written configuration; a fresh edge may need a moment before its control socket answers. */
async function reload(client: ReturnType<Context['nodes']['get']>, containerId: string): Promise<void> {
  let last = '';
  for (let i = 0; i < RELOAD_TRIES; i++) {
    const r = await client.exec(containerId, ['/usr/bin/caddy', 'reload', '--config', EDGE_CONFIG_FILE, '--address', `unix/${EDGE_ADMIN_SOCKET}`], 30_000);
    if (r.exitCode === 0) return;
    last = r.output.trim().split('\n').slice(-3).join(' ');
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`the edge refused its configuration: ${last.slice(0, 500)}`);
}


/** Removes this panel's edge from a node (when the node is removed); failures are logged, not raised. */
export async function removeEdge(ctx: Context, nodeId: string): Promise<void> {
  try {
    const client = ctx.nodes.get(nodeId);
    const edge = await client.inspect(EDGE_CONTAINER);
    if (edge && edge.labels[EDGE_LABEL] === ctx.panelId) await client.remove(edge.id);
  } catch (err) {
    ctx.log.error({ node: nodeId, err: errorMessage(err) }, 'the edge could not be removed from the node');
  }
}
