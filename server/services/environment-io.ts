import type { Environment } from '../domain/types.js';
import { ConflictError } from '../lib/errors.js';
import type { EnvironmentStats } from '../docker/stats.js';
import type { LogFollow, Shell } from '../docker/node-client.js';
import type { Context } from '../core/context.js';
import { toolsImage } from '../templates/panel-images.js';
import { customerTenant, onBehalfOf } from '../lib/tenancy.js';

/**
 * Node work for a person looking at their environment: it queues for the node's
 * connections as the environment's customer, within that customer's fair share.
 */
function forCustomer<T>(env: Environment, work: () => Promise<T>): Promise<T> {
  return onBehalfOf({ tenant: customerTenant(env.customerId), patient: false }, work);
}

/** Live figures from the node; an environment without a container has none yet. */
export async function environmentStats(ctx: Context, env: Environment): Promise<EnvironmentStats> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const id = env.containerId;
  return forCustomer(env, () => ctx.nodes.get(env.nodeId).stats(id));
}

export async function environmentLogs(ctx: Context, env: Environment, tail: number): Promise<string> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const id = env.containerId;
  return forCustomer(env, () => ctx.nodes.get(env.nodeId).logs(id, tail));
}

/** A shell in the environment, as its own user; the caller has authorized the account. */
export async function openEnvironmentShell(ctx: Context, env: Environment, size: { cols: number; rows: number }): Promise<Shell> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const id = env.containerId;
  const tools = await toolsImage(ctx.config.imageCacheDir);
  return forCustomer(env, () => ctx.nodes.get(env.nodeId).openShell(id, size, tools));
}

/** The environment's output from now on, until closed. */
export async function followEnvironmentLogs(ctx: Context, env: Environment): Promise<LogFollow> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const id = env.containerId;
  return forCustomer(env, () => ctx.nodes.get(env.nodeId).followLogs(id));
}
