import type { Environment, EnvironmentState } from '../domain/types.js';
import { publicOperation } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';
import { latestUsage } from './usage-history.js';
import { environmentView } from './views.js';

/** How many customers and plans a list names at most (they fill the filters' choices too). */
const CHOICES = 1000;

/** A customer's environments with their plan's and template's names and the latest usage sample. */
export function customerEnvironments(ctx: Context, customerId: string) {
  const plans = new Map(ctx.repos.plans.page('', CHOICES).map((p) => [p.id, p.name]));
  const mine = ctx.repos.environments.byCustomer(customerId);
  const usage = latestUsage(ctx, mine.map((e) => e.id));
  return mine.map((e) => ({
    ...environmentView(ctx, e), planName: plans.get(e.planId) ?? e.planId,
    templateName: ctx.templates.get(e.templateId)?.name ?? e.templateId, usage: usage.get(e.id),
  }));
}

/** Everything one environment's page shows, from the panel's own records; a customer reads errors in customer words. */
export function environmentOverview(ctx: Context, env: Environment, audience: 'admin' | 'customer') {
  return {
    env: environmentView(ctx, env),
    plan: ctx.repos.plans.get(env.planId),
    template: ctx.templates.get(env.templateId),
    node: ctx.repos.nodes.get(env.nodeId),
    otherNodes: ctx.repos.nodes.all().filter((n) => n.id !== env.nodeId && n.state !== 'disabled'),
    operations: ctx.repos.operations.recentFor(env.id, 8).map((op) => publicOperation(op, audience)),
    history: ctx.repos.history.page(env.id, Number.MAX_SAFE_INTEGER, 10),
  };
}

export interface FleetFilter {
  customerId?: string | undefined;
  nodeId?: string | undefined;
  state?: EnvironmentState | undefined;
  nameContains?: string | undefined;
}

/** One page of the fleet's environments with their node's, plan's and customer's names, and the next page's cursor. */
export function fleetEnvironments(ctx: Context, filter: FleetFilter, cursor: string, pageSize: number) {
  const rows = ctx.repos.environments.page(cursor, pageSize + 1, filter);
  const nodes = ctx.repos.nodes.all();
  const hosts = new Map(nodes.map((n) => [n.id, n.publicHost]));
  const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
  const plans = new Map(ctx.repos.plans.page('', CHOICES).map((p) => [p.id, p.name]));
  const customers = ctx.repos.customers.page('', CHOICES);
  const customerNames = new Map(customers.map((c) => [c.id, c.name]));
  const environments = rows.slice(0, pageSize).map((e) => ({
    ...environmentView(ctx, e, hosts), nodeName: nodeNames.get(e.nodeId) ?? e.nodeId, planName: plans.get(e.planId) ?? e.planId,
    customerName: customerNames.get(e.customerId) ?? ctx.repos.customers.get(e.customerId)?.name ?? e.customerId,
  }));
  const next = rows.length > pageSize ? environments[environments.length - 1]!.id : null;
  return { environments, next, nodes, customers };
}
