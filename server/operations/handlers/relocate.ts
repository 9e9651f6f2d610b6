import { containerSpec, LABEL } from '../../docker/container-spec.js';
import { finalSync, firstCopy, type Change, type Stat } from '../../domain/move-sync.js';
import { copyBeyondDisk, formatBytes } from '../../domain/move-size.js';
import type { Environment, Limits, PortBinding } from '../../domain/types.js';
import { ConflictError, errorMessage, KuraError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { copyPaths, statAll } from '../../services/move-copy.js';
import { waitForPort } from '../../lib/ports.js';
import { publishEnvironment } from '../../services/environment-state.js';
import { portsHeldByMoves } from '../../read-models/capacity.js';
import { ensureCustomerNetwork, ensureTemplateImage } from '../../services/node-resources.js';
import type { StepContext } from '../runner.js';

const SERVE_DEADLINE_MS = 15_000;
const MIB = 1048576;

type NodeApi = ReturnType<Context['nodes']['get']>;

/** One environment going into a new container: on another node (a move) or its own (a rebuild for a new disk size). */
export interface Relocation {
  /** The environment as recorded, still on its source container. */
  env: Environment;
  sourceContainerId: string;
  targetNodeId: string;
  /** The name the new container gets; on the source's node it must differ from the source's. */
  containerName: string;
  /** The new container's limits: the plan it moves with, or the new plan of a rebuild. */
  limits: Limits;
  /** Host ports on the target. */
  ports: PortBinding[];
  /** What the work is called in messages: "moved", "rebuilt". */
  verb: string;
  /** Runs just before the source stops for the final sync (the edges stop sending it requests). */
  beforeStop?: () => Promise<void>;
}

export interface Relocated {
  containerId: string;
  image: string;
  copiedBytes: number;
  /** How long the environment did not serve; null when it was stopped throughout. */
  downtimeMs: number | null;
}

/**
 * The copy at the heart of a move: the new container is made from the template, the
 * environment's own changes are copied while the source keeps serving, then the source stops
 * for a final sync of what changed meanwhile, and the new container starts and must accept
 * connections. The record is not touched: switching to the new container, or going back, is
 * the caller's. A new container left by an earlier attempt is removed first.
 */
export async function relocate(ctx: Context, r: Relocation, step: StepContext<'migrate' | 'resize'>): Promise<Relocated> {
  const { env } = r;
  const template = ctx.templates.get(env.templateId);
  if (!template) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel`);
  const target = ctx.repos.nodes.get(r.targetNodeId);
  if (!target) throw new ConflictError('the target node was removed');
  const source = ctx.nodes.get(env.nodeId);
  const dest = ctx.nodes.get(target.id);

  step.progress(3, `preparing ${target.name}: template image and network`);
  await discardTarget(ctx, r);
  const image = await ensureTemplateImage(ctx, target.id, template);
  await ensureCustomerNetwork(ctx, target.id, env.customerId);
  step.progress(10, `creating the new container on ${target.name}`);
  const spec = containerSpec({ environment: { ...env, limits: r.limits, ports: r.ports }, template, node: target, image,
    panelId: ctx.panelId, name: r.containerName });
  const targetId = await dest.createContainer(spec);

  const from = source.files(r.sourceContainerId);
  const to = dest.files(targetId);
  const before = await from.changes();
  const plan = firstCopy(before);
  const stats = await statAll(from, plan.leaves);
  assertCopyFitsDisk(r, stats);
  step.progress(15, `copying ${plan.copy.length} changed paths while ${env.name} keeps running`);
  const bytes = await copyPaths(from, to, plan.copy, (done, total, b) =>
    step.progress(15 + Math.floor((done / total) * 55), `copied ${done} of ${total} changed paths (${(b / MIB).toFixed(1)} MiB)`));

  step.progress(72, 'stopping the old container for the final sync');
  // What the environment should be afterwards is its desired state: an earlier attempt may
  // have stopped the source for its final sync before the panel went down.
  const wasRunning = env.desiredState === 'running';
  await r.beforeStop?.();
  const downFrom = Date.now();
  if ((await source.inspect(r.sourceContainerId))?.running) await source.stop(r.sourceContainerId);
  const after = await from.changes();
  const statsNow = await statAll(from, leavesNow(after));
  assertCopyFitsDisk(r, statsNow);
  const last = finalSync({ changes: before, stats }, { changes: after, stats: statsNow });
  const lastBytes = await copyPaths(from, to, last.copy);
  // The final sync's list alone: the first copy's would also delete a template file the
  // customer deleted and then created again, after the final sync had copied it.
  const remove = last.remove;

  if (wasRunning) {
    step.progress(85, `starting the new container on ${target.name}`);
    await dest.start(targetId);
    if (remove.length > 0) await removePaths(ctx, dest, targetId, remove);
    step.progress(90, 'checking the new container serves');
    await Promise.all([announce(ctx, dest, targetId), verifyServing(dest, targetId, target.publicHost, r.ports)]);
  } else if (remove.length > 0) {
    // A stopped environment stays stopped; paths to remove wait for a short start.
    await dest.start(targetId);
    await removePaths(ctx, dest, targetId, remove);
    await dest.stop(targetId);
  }
  return { containerId: targetId, image, copiedBytes: bytes + lastBytes, downtimeMs: wasRunning ? Date.now() - downFrom : null };
}

/**
 * Free host ports on another node for the environment's ports. Ports published there by
 * containers the panel does not know are avoided, and the choice is made with no await
 * before the caller records it, so two moves into one node never pick the same one.
 */
export async function portsOnTarget(ctx: Context, env: Environment, targetNodeId: string, operationId: string): Promise<PortBinding[]> {
  const foreign = await ctx.nodes.get(targetNodeId).publishedPorts();
  return ctx.repos.environments.portsOn(targetNodeId, env.ports, new Set([...foreign, ...portsHeldByMoves(ctx, targetNodeId, operationId)]));
}

/**
 * Removes the new container an attempt made, found by its name; never the source, which on
 * the same node is this environment's too.
 */
export async function discardTarget(ctx: Context, r: Pick<Relocation, 'env' | 'sourceContainerId' | 'targetNodeId' | 'containerName'>): Promise<void> {
  const client = ctx.nodes.get(r.targetNodeId);
  const stale = await client.inspect(r.containerName);
  if (!stale || (r.targetNodeId === r.env.nodeId && stale.id === r.sourceContainerId)) return;
  if (stale.labels[LABEL.environment] !== r.env.id) {
    throw new ConflictError(`a container named ${r.containerName} exists on the target but is not this environment's`);
  }
  await client.remove(stale.id);
}

/** Back to where it was: the new container goes, the old one runs again if it ran. */
export async function rollBack(ctx: Context, r: Pick<Relocation, 'env' | 'sourceContainerId' | 'targetNodeId' | 'containerName'>): Promise<void> {
  try {
    await discardTarget(ctx, r);
  } catch (err) {
    // An unreachable target keeps its copy until it answers again; reconcile removes it then.
    ctx.log.error({ environment: r.env.id, err: errorMessage(err) }, 'the new container could not be removed after a failed move');
  }
  if (r.env.desiredState === 'running') await ctx.nodes.get(r.env.nodeId).start(r.sourceContainerId);
}

/** Refuses, before any byte moves, a copy that sparse files would blow up past the new container's disk. */
function assertCopyFitsDisk(r: Relocation, stats: ReadonlyMap<string, Stat | null>): void {
  const over = copyBeyondDisk(stats, r.limits.diskMb);
  if (!over) return;
  const names = over.largest.map((f) => `${f.path} (${formatBytes(f.size)})`).join(', ');
  throw new ConflictError(`${r.env.name} cannot be ${r.verb}: its files add up to ${formatBytes(over.totalBytes)} once written out, more than`
    + ` its ${r.limits.diskMb} MiB disk, because of sparse files (largest: ${names}). The copy writes a sparse file's holes as data;`
    + ' shrink or remove those files and try again.', { field: 'files', largest: over.largest });
}

function leavesNow(changes: Change[]): string[] {
  return firstCopy(changes).leaves;
}

async function verifyServing(dest: NodeApi, containerId: string, host: string, ports: PortBinding[]): Promise<void> {
  const state = await dest.inspect(containerId);
  if (!state?.running) throw new KuraError('internal', 'the environment did not keep running in its new container');
  for (const port of ports.filter((x) => x.protocol === 'tcp')) await waitForPort(host, port.hostPort, SERVE_DEADLINE_MS);
  const still = await dest.inspect(containerId);
  if (!still?.running) throw new KuraError('internal', 'the environment stopped in its new container right after starting');
}

/**
 * Has the new container send one packet to its gateway, so the node learns its address at
 * once. It often has the old container's address, and a visitor's request that reached the
 * node in the first instant after the start left the node's neighbour entry unresolved, to
 * be retried a second later: a probe saw about 0.85 s more downtime on every rebuild on one
 * node, the same with plain `docker stop` and `docker start`, and none after this. Best
 * effort, as the container's own user, with the tools the container has (busybox nc, or
 * bash); nothing depends on it.
 */
async function announce(ctx: Context, dest: NodeApi, containerId: string): Promise<void> {
  try {
    const state = await dest.inspect(containerId);
    for (const gateway of state?.gateways ?? []) {
      await dest.exec(containerId, ['sh', '-c', 'nc -w 1 "$1" 9 </dev/null 2>/dev/null || bash -c "exec 3<>/dev/tcp/$1/9" 2>/dev/null; true', 'sh', gateway], 3000);
    }
  } catch (err) {
    ctx.log.warn({ container: containerId, err: errorMessage(err) }, 'the new container could not announce itself to its node');
  }
}

/** Removes, in the new container, what the source had deleted: as the container's user, then as root for root's files. */
async function removePaths(ctx: Context, dest: NodeApi, containerId: string, paths: string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += 200) {
    const chunk = paths.slice(i, i + 200);
    for (const user of [undefined, '0']) {
      const r = await dest.exec(containerId, ['rm', '-rf', '--', ...chunk], 60_000, user);
      if (r.exitCode === 0) break;
      if (user === '0') ctx.log.error({ container: containerId, output: r.output.slice(0, 300) }, 'some deleted paths could not be removed in the new container');
    }
  }
}

/** How long the edges get to take up a route change (it goes out within 200 ms, a reload takes less) before the source stops. */
const EDGE_DRAIN_MS = 500;

/**
 * Tells the edges to send the environment's requests to its new place only (holding them
 * until it answers) and gives them a moment, so no request is in flight on the source when
 * it stops. A panel without edges has nothing to wait for.
 */
export async function drainEdges(ctx: Context, envId: string, step: StepContext<'migrate' | 'resize'>): Promise<void> {
  if (!ctx.config.edge) return;
  step.checkpoint({ draining: true });
  publishEnvironment(ctx, envId);
  await new Promise((resolve) => setTimeout(resolve, EDGE_DRAIN_MS));
}
