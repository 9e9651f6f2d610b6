import type { Environment } from '../domain/types.js';
import { ConflictError } from '../lib/errors.js';
import type { EnvironmentStats } from '../docker/stats.js';
import type { LogFollow, Shell } from '../docker/node-client.js';
import type { NodeApi } from '../docker/registry.js';
import type { Context } from '../core/context.js';
import { toolsImage } from '../templates/panel-images.js';
import { customerTenant, onBehalfOf } from '../lib/tenancy.js';

/**
 * Node work on the environment's container for a person looking at it: it queues for the
 * node's connections as the environment's customer, within that customer's fair share. An
 * environment without a container has nothing to show yet.
 */
function onContainer<T>(ctx: Context, env: Environment, work: (node: NodeApi, containerId: string) => Promise<T>): Promise<T> {
  const id = env.containerId;
  if (!id) return Promise.reject(new ConflictError('the environment has no container yet'));
  return onBehalfOf({ tenant: customerTenant(env.customerId), patient: false }, () => work(ctx.nodes.get(env.nodeId), id));
}

/** Live figures from the node. */
export function environmentStats(ctx: Context, env: Environment): Promise<EnvironmentStats> {
  return onContainer(ctx, env, (node, id) => node.stats(id));
}

export function environmentLogs(ctx: Context, env: Environment, tail: number): Promise<string> {
  return onContainer(ctx, env, (node, id) => node.logs(id, tail));
}

/** A shell in the environment, as its own user; the caller has authorized the account. */
export async function openEnvironmentShell(ctx: Context, env: Environment, size: { cols: number; rows: number }): Promise<Shell> {
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const tools = await toolsImage(ctx.config.imageCacheDir);
  return onContainer(ctx, env, (node, id) => node.openShell(id, size, tools));
}

/** The environment's output from now on, until closed. */
export function followEnvironmentLogs(ctx: Context, env: Environment): Promise<LogFollow> {
  return onContainer(ctx, env, (node, id) => node.followLogs(id));
}
