import type { Environment, Template } from '../domain/types.js';
import { containerName } from '../docker/container-spec.js';
import { KuraError } from '../lib/errors.js';
import type { NodeApi } from '../docker/registry.js';
import type { Context } from '../core/context.js';

const inFlight = new Map<string, Promise<string>>();

/**
 * Makes sure a node holds the template's image and returns the reference to create
 * containers from. Built archives are loaded once per node (the node's template
 * cache); registry images are pulled if the node does not have them.
 */
export async function ensureTemplateImage(ctx: Context, nodeId: string, template: Template): Promise<string> {
  const image = await ctx.images.resolve(template);
  const ref = image.kind === 'registry' ? image.reference : image.imageId;
  const key = `image:${nodeId}:${ref}`;
  if (ctx.known.has(key)) return ref;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = (async () => {
      const client = ctx.nodes.get(nodeId);
      if (!(await client.hasImage(ref))) {
        if (image.kind === 'registry') await pullOrExplain(client, ref);
        else await client.loadImage(image.archive);
      }
      ctx.repos.nodes.markImageLoaded(nodeId, ref);
      ctx.known.add(key);
      return ref;
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function pullOrExplain(client: NodeApi, ref: string): Promise<void> {
  try {
    await client.pullImage(ref);
  } catch (err) {
    throw new Error(`image ${ref} is not on node ${client.name} and could not be pulled: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function ensureCustomerNetwork(ctx: Context, nodeId: string, customerId: string): Promise<void> {
  const key = `net:${nodeId}:${customerId}`;
  if (ctx.known.has(key)) return;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ctx.nodes.get(nodeId).ensureCustomerNetwork(customerId, ctx.panelId)
      .then((name) => {
        ctx.known.add(key);
        return name;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  await pending;
}

/** Forgets what was believed about a node, after it answered that something is missing. */
export function forgetNodeResources(ctx: Context, nodeId: string): void {
  for (const key of ctx.known) if (key.includes(`:${nodeId}:`)) ctx.known.delete(key);
}

/**
 * On btrfs the template image lives inside the container's quota, so a plan's disk must
 * be larger than the image; say so plainly instead of letting Docker fail obscurely.
 */
export function assertDiskHoldsImage(node: { name: string; storageDriver: string }, template: Template,
  sizeBytes: number | undefined, diskMb: number): void {
  if (node.storageDriver !== 'btrfs' || sizeBytes === undefined) return;
  const imageMb = Math.ceil(sizeBytes / 1048576);
  if (imageMb + 16 > diskMb) {
    throw new KuraError('conflict', `the plan's ${diskMb} MiB of disk cannot hold template ${template.id} (${imageMb} MiB) on node ${node.name}: ` +
      'its btrfs storage counts the template inside each environment\'s disk quota; choose a plan with more disk', { field: 'planId' });
  }
}

/**
 * Removes an environment's container and its data: the recorded one, and one made under
 * its name by a create that was in flight when the panel stopped (no id recorded yet).
 */
export async function removeEnvironmentContainers(ctx: Context, env: Environment): Promise<void> {
  const client = ctx.nodes.get(env.nodeId);
  if (env.containerId) await client.remove(env.containerId);
  await client.remove(containerName(env.id));
}
