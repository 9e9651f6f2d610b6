import { containerName, containerSpec, LABEL } from '../../docker/container-spec.js';
import { finalSync, firstCopy, type Change, type Stat } from '../../domain/move-sync.js';
import { copyBeyondDisk, formatBytes } from '../../domain/move-size.js';
import type { Environment, PortBinding } from '../../domain/types.js';
import { ConflictError, errorMessage, KuraError } from '../../lib/errors.js';
import { onBehalfOf } from '../../lib/tenancy.js';
import type { Context } from '../../core/context.js';
import { publishEnvironment, setEnvironmentState } from '../../services/environment-state.js';
import { copyPaths, statAll, waitForPort } from '../../services/move-copy.js';
import type { ParamsOf, ResultOf } from '../../domain/operations.js';
import { portsHeldByMoves } from '../../read-models/capacity.js';
import { ensureCustomerNetwork, ensureTemplateImage, removeEnvironmentContainers } from '../../services/node-resources.js';
import type { OperationHandler, Outcome, StepContext } from '../runner.js';

type MoveParams = ParamsOf<'migrate'>;

const SERVE_DEADLINE_MS = 15_000;
const MIB = 1048576;

/**
 * Moves an environment to another node while it runs: the target container is made from
 * the template, the environment's own changes are copied while the source keeps serving,
 * then the source stops for a final sync of what changed meanwhile, the target starts and
 * must accept connections, and only then does the record switch and the source go. A
 * failure before the switch removes the target and starts the source again; a re-run
 * after a panel restart starts over from the source, or finishes a switch already made.
 */
export function moveHandler(ctx: Context): OperationHandler<'migrate'> {
  return {
    async run(op, step) {
      const p = op.params;
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return { message: 'environment no longer exists', result: { targetNodeId: p.targetNodeId, copiedBytes: 0, downtimeMs: null } };
      if (env.nodeId === p.targetNodeId) {
        // The switch was recorded before the panel stopped: only the source is left to remove.
        await removeSource(ctx, env, p.sourceNodeId);
        setEnvironmentState(ctx, env.id, 'running');
        return { message: 'environment moved', result: { targetNodeId: p.targetNodeId, copiedBytes: 0, downtimeMs: null } };
      }
      try {
        // A move is the panel's own maintenance, not the customer's doing: its many file stats
        // (the final sync's among them, while the environment is down) use the panel's share
        // of the nodes' calls, not the customer's.
        return await onBehalfOf({ tenant: 'panel', patient: true }, () => move(ctx, env, p, step, op.id));
      } catch (err) {
        // Only a move that has not switched goes back; after the switch the target is the environment.
        if (ctx.repos.environments.get(env.id)?.nodeId === env.nodeId) await rollBack(ctx, env, p);
        throw err;
      }
    },
    onFailure(op) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (env?.state === 'migrating') setEnvironmentState(ctx, env.id, 'running');
    },
  };
}

async function move(ctx: Context, env: Environment, p: MoveParams, step: StepContext<'migrate'>, opId: string): Promise<Outcome<'migrate'>> {
  const template = ctx.templates.get(env.templateId);
  if (!template) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel`);
  const target = ctx.repos.nodes.get(p.targetNodeId);
  if (!target) throw new ConflictError('the target node was removed');
  if (!env.containerId) throw new ConflictError('the environment has no container to move');
  const source = ctx.nodes.get(env.nodeId);
  const dest = ctx.nodes.get(target.id);

  step.progress(3, `preparing ${target.name}: template image and network`);
  await removeStale(ctx, env, target.id);
  const image = await ensureTemplateImage(ctx, target.id, template);
  await ensureCustomerNetwork(ctx, target.id, env.customerId);
  // Ports published on the target by containers the panel does not know (another panel's, an operator's) are avoided;
  // then ports are chosen and recorded with no await between, so two moves into one node never pick the same one.
  const foreign = await dest.publishedPorts();
  const ports: PortBinding[] = ctx.repos.environments.portsOn(target.id, env.ports,
    new Set([...foreign, ...portsHeldByMoves(ctx, target.id, opId)]));
  step.checkpoint({ ports });
  const moved: Environment = { ...env, nodeId: target.id, ports };
  step.progress(10, `creating the container on ${target.name}`);
  const targetId = await dest.createContainer(containerSpec({ environment: moved, template, node: target, image, panelId: ctx.panelId }));

  const from = source.files(env.containerId);
  const to = dest.files(targetId);
  const before = await from.changes();
  const plan = firstCopy(before);
  const stats = await statAll(from, plan.leaves);
  assertCopyFitsDisk(env, stats);
  step.progress(15, `copying ${plan.copy.length} changed paths while ${env.name} keeps running`);
  const bytes = await copyPaths(from, to, plan.copy, (done, total, b) =>
    step.progress(15 + Math.floor((done / total) * 55), `copied ${done} of ${total} changed paths (${(b / MIB).toFixed(1)} MiB)`));

  step.progress(72, 'stopping on the source for the final sync');
  // What the environment should be after the move is its desired state: an earlier attempt
  // may have stopped the source for its final sync before the panel went down.
  const wasRunning = env.desiredState === 'running';
  const downFrom = Date.now();
  if ((await source.inspect(env.containerId))?.running) await source.stop(env.containerId);
  const after = await from.changes();
  const statsNow = await statAll(from, leavesNow(after));
  assertCopyFitsDisk(env, statsNow);
  const last = finalSync({ changes: before, stats }, { changes: after, stats: statsNow });
  const lastBytes = await copyPaths(from, to, last.copy);
  // The final sync's list alone: the first copy's would also delete a template file the
  // customer deleted and then created again, after the final sync had copied it.
  const remove = last.remove;

  if (wasRunning) {
    step.progress(85, `starting on ${target.name}`);
    await dest.start(targetId);
    if (remove.length > 0) await removePaths(ctx, dest, targetId, remove);
    step.progress(90, 'checking the target serves');
    await verifyServing(dest, targetId, target.publicHost, ports);
  } else if (remove.length > 0) {
    // A stopped environment is moved stopped; paths to remove wait for a short start.
    await dest.start(targetId);
    await removePaths(ctx, dest, targetId, remove);
    await dest.stop(targetId);
  }
  const downMs = Date.now() - downFrom;

  // The switch: from here on the environment lives on the target.
  ctx.repos.environments.moveToNode(env.id, target.id, targetId, image, ports);
  setEnvironmentState(ctx, env.id, wasRunning ? 'running' : 'stopped');
  ctx.repos.history.add(env.id, 'started', { message: `moved from ${ctx.repos.nodes.get(p.sourceNodeId)?.name} to ${target.name}` });
  step.progress(95, 'removing the source container');
  try {
    await removeSource(ctx, env, p.sourceNodeId);
  } catch (err) {
    // The move is done; a source that cannot be reached now is cleaned up by reconcile when it answers.
    ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'the source container could not be removed after the move');
  }
  const total = (bytes + lastBytes) / MIB;
  const result: ResultOf<'migrate'> = { targetNodeId: target.id, copiedBytes: bytes + lastBytes, downtimeMs: wasRunning ? downMs : null };
  return { message: `moved to ${target.name}: ${total.toFixed(1)} MiB copied, ${wasRunning ? `unavailable for ${downMs} ms` : 'moved stopped'}`, result };
}

/** Refuses, before any byte moves, a copy that sparse files would blow up past the environment's disk. */
function assertCopyFitsDisk(env: Environment, stats: ReadonlyMap<string, Stat | null>): void {
  const over = copyBeyondDisk(stats, env.limits.diskMb);
  if (!over) return;
  const names = over.largest.map((f) => `${f.path} (${formatBytes(f.size)})`).join(', ');
  throw new ConflictError(`${env.name} cannot be moved: its files add up to ${formatBytes(over.totalBytes)} once written out, more than its`
    + ` ${env.limits.diskMb} MiB disk, because of sparse files (largest: ${names}). A move copies a sparse file's holes as data;`
    + ' shrink or remove those files and move it again.', { field: 'files', largest: over.largest });
}

function leavesNow(changes: Change[]): string[] {
  return firstCopy(changes).leaves;
}

/** A container for this environment left on the target by an earlier attempt is removed first. */
async function removeStale(ctx: Context, env: Environment, targetNodeId: string): Promise<void> {
  const client = ctx.nodes.get(targetNodeId);
  const stale = await client.inspect(containerName(env.id));
  if (!stale) return;
  if (stale.labels[LABEL.environment] !== env.id) {
    throw new ConflictError(`a container named ${containerName(env.id)} exists on the target but is not this environment's`);
  }
  await client.remove(stale.id);
}

async function verifyServing(dest: ReturnType<Context['nodes']['get']>, containerId: string, host: string, ports: PortBinding[]): Promise<void> {
  const state = await dest.inspect(containerId);
  if (!state?.running) throw new KuraError('internal', 'the environment did not keep running on the target');
  for (const port of ports.filter((x) => x.protocol === 'tcp')) await waitForPort(host, port.hostPort, SERVE_DEADLINE_MS);
  const still = await dest.inspect(containerId);
  if (!still?.running) throw new KuraError('internal', 'the environment stopped on the target right after starting');
}

/** Removes, on the target, what the source had deleted: as the container's user, then as root for root's files. */
async function removePaths(ctx: Context, dest: ReturnType<Context['nodes']['get']>, containerId: string, paths: string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += 200) {
    const chunk = paths.slice(i, i + 200);
    for (const user of [undefined, '0']) {
      const r = await dest.exec(containerId, ['rm', '-rf', '--', ...chunk], 60_000, user);
      if (r.exitCode === 0) break;
      if (user === '0') ctx.log.error({ container: containerId, output: r.output.slice(0, 300) }, 'some deleted paths could not be removed on the target');
    }
  }
}

async function removeSource(ctx: Context, env: Environment, sourceNodeId: string): Promise<void> {
  await removeEnvironmentContainers(ctx, { ...env, nodeId: sourceNodeId });
  publishEnvironment(ctx, env.id);
}

/** Back to where it was: the target's container goes, the source runs again if it ran. */
async function rollBack(ctx: Context, env: Environment, p: MoveParams): Promise<void> {
  try {
    await removeEnvironmentContainers(ctx, { ...env, nodeId: p.targetNodeId, containerId: null });
  } catch (err) {
    // An unreachable target keeps its copy until it answers again; reconcile removes it then.
    ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'the target container could not be removed after a failed move');
  }
  if (env.containerId && env.desiredState === 'running') {
    await ctx.nodes.get(env.nodeId).start(env.containerId);
  }
  setEnvironmentState(ctx, env.id, env.desiredState === 'running' ? 'running' : 'stopped');
}

