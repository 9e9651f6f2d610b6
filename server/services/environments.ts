import { allocationOn, changeShortfall, planLimits, rebuildShortfall } from '../domain/allocation.js';
import { shrinkHeadroomMb, shrinkRefusal } from '../domain/disk-change.js';
import type { ParamsOf } from '../domain/operations.js';
import { chooseNode } from '../domain/placement.js';
import { checkCustomerLimits } from '../domain/quotas.js';
import { selfServiceRefusal } from '../domain/self-service.js';
import type { Environment, Limits, Plan, Principal } from '../domain/types.js';
import { BadRequestError, ConflictError, ForbiddenError, KuraError, NoCapacityError, NotFoundError, RateLimitedError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { isKind, type OperationOf } from '../db/repos/operations.js';
import { nodeAllocations, placementCandidates } from '../read-models/capacity.js';
import type { Context } from '../core/context.js';
import { startOperation } from './operations.js';
import { publishEnvironment } from './environment-state.js';
import { assertDiskHoldsImage } from './node-resources.js';
import { maySee } from '../domain/access.js';

export interface CreateEnvironmentInput {
  name: string;
  templateId: string;
  planId: string;
  customerId?: string | undefined;
  nodeId?: string | undefined;
  /** The environment starts with this backup's files (checked by the caller) instead of its template's. */
  fromBackup?: string | undefined;
  /** Ports to publish instead of the template's (an import publishes what the source listened on). */
  ports?: { name: string; protocol: 'tcp' | 'udp'; containerPort: number }[] | undefined;
}

/** The environment if the caller may see it; another customer's answers exactly like a missing one. */
export function environmentFor(ctx: Context, who: Principal, id: string): Environment {
  const env = ctx.repos.environments.get(id);
  if (!env || !maySee(who, env.customerId)) throw new NotFoundError('environment', id);
  return env;
}

/**
 * Checks the customer's limits and the node's capacity and records the environment,
 * its ports and its provisioning operation in one immediate transaction, so parallel
 * creates can never overfill a node or pass a customer's limits.
 */
export function createEnvironment(ctx: Context, who: Principal, input: CreateEnvironmentInput): { environment: Environment; operation: OperationOf<'provision'> } {
  let customerId: string;
  if (who.kind === 'customer') {
    if (input.nodeId !== undefined) throw new ForbiddenError('only an admin may choose the node (nodeId)');
    if (input.customerId !== undefined && input.customerId !== who.customerId) throw new NotFoundError('customer', input.customerId);
    customerId = who.customerId;
  } else {
    if (input.customerId === undefined) throw new BadRequestError('customerId is required with an admin token', { field: 'customerId' });
    customerId = input.customerId;
  }
  const customer = ctx.repos.customers.get(customerId);
  if (!customer) throw new BadRequestError(`customer ${customerId} does not exist`, { field: 'customerId' });
  if (customer.status === 'suspended') throw new ConflictError('the customer is suspended; resume the customer first');
  const template = ctx.templates.get(input.templateId);
  if (!template) throw new BadRequestError(`template ${input.templateId} does not exist`, { field: 'templateId' });
  const plan = ctx.repos.plans.get(input.planId);
  if (!plan) throw new BadRequestError(`plan ${input.planId} does not exist`, { field: 'planId' });
  if (input.nodeId !== undefined && !ctx.repos.nodes.get(input.nodeId)) {
    throw new BadRequestError(`node ${input.nodeId} does not exist`, { field: 'nodeId' });
  }
  const limits = planLimits(plan);
  const id = newId('env');

  const operation = startOperation(ctx, { kind: 'provision', resourceId: id, customerId, params: input.fromBackup ? { fromBackup: input.fromBackup } : {} }, () => {
    if (ctx.repos.environments.nameTaken(customerId, input.name)) {
      throw new ConflictError(`the customer already has an environment named ${input.name}`, { field: 'name' });
    }
    checkCustomerLimits(customer.limits, ctx.repos.customers.usage(customerId), limits);
    // Room that moves in flight hold on their targets is taken, exactly as for moves.
    const candidates = placementCandidates(ctx, { movesInFlight: true });
    const result = chooseNode(candidates, limits, input.nodeId);
    if (!result.ok) {
      throw new NoCapacityError(input.nodeId ? `node ${input.nodeId} cannot take this environment: ${result.excluded[0]?.reason ?? 'unknown'}`
        : 'no node can take this environment', { excluded: result.excluded });
    }
    const placed = candidates.find((c) => c.node.id === result.placement.nodeId)!.node;
    const built = ctx.images.peek(template.id);
    assertDiskHoldsImage(placed, template, built?.kind === 'archive' ? built.sizeBytes : undefined, limits.diskMb);
    ctx.repos.environments.insert(
      { id, name: input.name, customerId, nodeId: result.placement.nodeId, templateId: template.id, planId: plan.id, limits },
      input.ports ?? template.ports.map((p) => ({ name: p.name, protocol: p.protocol, containerPort: p.port })),
    );
  });
  publishEnvironment(ctx, id);
  return { environment: ctx.repos.environments.get(id)!, operation };
}

/**
 * Operations on one environment run one at a time; past this many waiting, a new one is
 * refused rather than queued, so a script repeating an action cannot pile up work that
 * keeps its node busy long after the script has stopped.
 */
const MAX_PENDING_OPERATIONS = 4;

export function environmentAction(ctx: Context, who: Principal, id: string, action: 'start' | 'stop' | 'restart'): OperationOf<'power'> {
  const env = environmentFor(ctx, who, id);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  assertFewPending(ctx, env);
  if (action !== 'stop' && ctx.repos.customers.get(env.customerId)?.status === 'suspended') {
    throw new ConflictError('the customer is suspended; environments cannot start until the customer is resumed');
  }
  return startOperation(ctx, { kind: 'power', resourceId: id, customerId: env.customerId, params: { action } },
    () => ctx.repos.environments.setDesired(id, action === 'stop' ? 'stopped' : 'running'));
}

/**
 * Moves the reservation to the new plan atomically, then applies it. Until the change succeeds
 * the old plan's room stays held as well (the larger of the two counts), so a change that
 * fails goes back to the old plan without ever passing a limit. A new disk size rebuilds the
 * environment with its data: beside the old container on its node, or on another node when
 * its own lacks room for both; a smaller disk is refused while the data does not fit it.
 */
export async function resizeEnvironment(ctx: Context, who: Principal, id: string, planId: string): Promise<OperationOf<'resize'>> {
  const env = environmentFor(ctx, who, id);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  assertFewPending(ctx, env);
  const plan = ctx.repos.plans.get(planId);
  if (!plan) throw new BadRequestError(`plan ${planId} does not exist`, { field: 'planId' });
  if (who.kind === 'customer') {
    const refusal = selfServiceRefusal(ctx.repos.customers.get(env.customerId), plan);
    if (refusal) throw new ForbiddenError(refusal);
  }
  const limits = planLimits(plan);
  const rebuild = limits.diskMb !== env.limits.diskMb;
  if (rebuild) await assertRebuildable(ctx, env, plan);
  assertNoResize(ctx, id);
  const previous = { planId: env.planId, limits: env.limits };
  const target = rebuild ? rebuildTarget(ctx, env, limits) : env.nodeId;
  const params: ParamsOf<'resize'> = { planId, previous,
    ...(rebuild ? { rebuild: { sourceNodeId: env.nodeId, sourceContainerId: env.containerId!, targetNodeId: target } } : {}) };
  return startOperation(ctx, { kind: 'resize', resourceId: id, customerId: env.customerId, params }, () => {
    assertNoResize(ctx, id);
    const current = ctx.repos.environments.get(id)!;
    if (current.planId !== previous.planId || current.containerId !== env.containerId || current.nodeId !== env.nodeId) {
      throw new ConflictError('the environment changed meanwhile; try again');
    }
    const delta: Limits = {
      cpus: limits.cpus - current.limits.cpus, memoryMb: limits.memoryMb - current.limits.memoryMb,
      swapMb: 0, diskMb: limits.diskMb - current.limits.diskMb, pids: 0, nofile: 0,
    };
    const customer = ctx.repos.customers.get(env.customerId)!;
    checkCustomerLimits(customer.limits, ctx.repos.customers.usage(env.customerId), delta, { adding: false });
    // Checked again inside the transaction: parallel changes and moves cannot overfill a node.
    if (rebuild) {
      if (rebuildTarget(ctx, env, limits, target) !== target) throw new NoCapacityError(`the node chosen for ${env.name} has no room left`);
      ctx.repos.environments.setState(id, 'migrating');
    } else {
      const allocated = allocationOn(nodeAllocations(ctx, { movesInFlight: true }), env.nodeId);
      const shortfall = changeShortfall(ctx.repos.nodes.get(env.nodeId)!, allocated, current.limits, limits);
      if (shortfall) throw new NoCapacityError(shortfall);
    }
    ctx.repos.environments.setPlan(id, planId, limits, current.limits);
  });
}

function assertNoResize(ctx: Context, id: string): void {
  if (ctx.repos.operations.openFor(id).some((o) => isKind(o, 'resize'))) {
    throw new ConflictError('a plan change of this environment is already in progress; wait for its operation');
  }
}

/** A disk change copies the environment's data into a new container: it needs the container, its template, and room for the data. */
async function assertRebuildable(ctx: Context, env: Environment, plan: Plan): Promise<void> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet; change its plan once it is provisioned');
  if (!ctx.templates.get(env.templateId)) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel, so the environment cannot be rebuilt with a new disk`);
  if (plan.diskMb >= env.limits.diskMb) return;
  const node = ctx.repos.nodes.get(env.nodeId)!;
  const usage = await ctx.nodes.get(env.nodeId).diskUsage(env.containerId);
  // btrfs counts the template's files inside the quota; other drivers count only what the environment wrote.
  const used = node.storageDriver === 'btrfs' ? usage.rootFsBytes : usage.changedBytes;
  const refusal = shrinkRefusal(env.name, used, plan.diskMb, plan.name);
  if (refusal) {
    throw new ConflictError(refusal, { field: 'planId', usedMb: Math.ceil(used / 1048576), diskMb: plan.diskMb, headroomMb: shrinkHeadroomMb(plan.diskMb) });
  }
}

/**
 * Where a disk change rebuilds the environment: its own node when that has room for both
 * containers, else the node placement would choose for it (never a pinned one). With
 * `expected`, that node is checked again.
 */
function rebuildTarget(ctx: Context, env: Environment, limits: Limits, expected?: string): string {
  const template = ctx.templates.get(env.templateId)!;
  const built = ctx.images.peek(template.id);
  const imageBytes = built?.kind === 'archive' ? built.sizeBytes : undefined;
  const allocations = nodeAllocations(ctx, { movesInFlight: true });
  const home = ctx.repos.nodes.get(env.nodeId)!;
  const here = rebuildShortfall(home, allocationOn(allocations, home.id), env.limits, limits);
  if (!here && (expected === undefined || expected === home.id)) {
    assertDiskHoldsImage(home, template, imageBytes, limits.diskMb);
    return home.id;
  }
  const candidates = placementCandidates(ctx, { movesInFlight: true, except: env.nodeId });
  const result = chooseNode(candidates, limits, expected);
  if (!result.ok) {
    const why = result.excluded.map((e) => `${ctx.repos.nodes.get(e.nodeId)?.name ?? e.nodeId}: ${e.reason}`).join('; ');
    throw new NoCapacityError(`${here ?? `node ${home.name} cannot take it`}, and no other node can take ${env.name} with the new plan${why ? ` (${why})` : ''}`);
  }
  const placed = candidates.find((c) => c.node.id === result.placement.nodeId)!.node;
  assertDiskHoldsImage(placed, template, imageBytes, limits.diskMb);
  return placed.id;
}

export function destroyEnvironment(ctx: Context, who: Principal, id: string): OperationOf<'destroy'> {
  const env = environmentFor(ctx, who, id);
  const pending = ctx.repos.operations.openFor(id).find((o) => isKind(o, 'destroy'));
  if (pending) return pending;
  assertNodeOnline(ctx, env);
  return startOperation(ctx, { kind: 'destroy', resourceId: id, customerId: env.customerId, params: {} }, () => {
    ctx.repos.environments.setDesired(id, 'stopped');
    ctx.repos.environments.setState(id, 'deleting');
  });
}

/**
 * Rebuilds an environment from its template on the same node: the container and all
 * of its data are replaced, the plan, name and endpoints stay.
 */
export function reinstallEnvironment(ctx: Context, who: Principal, id: string): OperationOf<'reinstall'> {
  const env = environmentFor(ctx, who, id);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  if (ctx.repos.customers.get(env.customerId)?.status === 'suspended') {
    throw new ConflictError('the customer is suspended; environments cannot be reinstalled until the customer is resumed');
  }
  if (!ctx.templates.get(env.templateId)) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel`);
  return startOperation(ctx, { kind: 'reinstall', resourceId: id, customerId: env.customerId, params: {} }, () => {
    ctx.repos.environments.setDesired(id, 'running');
    ctx.repos.environments.setState(id, 'provisioning');
  });
}

/** An action on an environment whose node is known to be offline is refused at once, not queued to time out. */
export function assertNodeOnline(ctx: Context, env: Environment): void {
  const node = ctx.repos.nodes.get(env.nodeId);
  if (node?.status === 'offline') {
    throw new KuraError('node_unavailable', `node ${node.name} is offline (last seen ${node.lastSeenAt ?? 'never'}); try again when it is back`,
      { node: node.name });
  }
}

export function assertFewPending(ctx: Context, env: Environment): void {
  const pending = ctx.repos.operations.openFor(env.id).length;
  if (pending >= MAX_PENDING_OPERATIONS) {
    throw new RateLimitedError(`the environment already has ${pending} operations queued or running; wait for them to finish`, 5,
      { pending });
  }
}

export function assertSettled(env: Environment): void {
  if (env.state === 'deleting') throw new ConflictError('the environment is being deleted');
  if (env.state === 'provisioning') throw new ConflictError('the environment is still being provisioned; wait for its operation');
  if (env.state === 'migrating') throw new ConflictError('the environment is being migrated');
}

