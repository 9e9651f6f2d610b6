import { LABEL, MIB, containerName } from '../docker/container-spec.js';
import type { ContainerState } from '../docker/container-state.js';
import type { Limits, NodeRecord } from '../domain/types.js';
import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { registerNode, type RegisterNodeInput } from './nodes.js';
import { createPlan } from './plans.js';

/** What a recovery did, and what it could not: the operator's checklist. */
export interface RecoveryReport {
  panelId: string | null;
  nodes: string[];
  environments: Array<{ id: string; name: string; node: string; state: 'running' | 'stopped' }>;
  customers: string[];
  plans: string[];
  problems: string[];
}

/**
 * Rebuilds a lost database from what the nodes still hold: each environment's container
 * carries its environment, customer, panel and template ids, and its limits and ports are
 * in Docker's record of it. Into a fresh database (`ctx`, background work off), it registers
 * the nodes, then records the customers, plans and environments found, on the containers
 * they run in, and takes the panel id the containers name, so the panel that starts on this
 * database recognises them as its own.
 *
 * What the labels cannot give is said in `problems`: customers get a placeholder name and
 * email and no password, environments a name made from their id, plans a name made from
 * their limits. Containers of another panel, of an unknown template, or a rebuild's second
 * container are left alone and listed.
 */
export async function recoverFromNodes(ctx: Context, nodes: RegisterNodeInput[], opts: { panelId?: string } = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { panelId: null, nodes: [], environments: [], customers: [], plans: [], problems: [] };
  const found: Array<{ node: NodeRecord; c: ContainerState }> = [];
  for (const input of nodes) {
    try {
      const node = await registerNode(ctx, input);
      report.nodes.push(node.name);
      const client = ctx.nodes.get(node.id);
      for (const listed of await client.listByLabel(LABEL.environment)) {
        const c = await client.inspect(listed.Id);
        if (c) found.push({ node, c });
      }
    } catch (err) {
      report.problems.push(`node ${input.name}: ${errorMessage(err)}; its environments are not recovered`);
    }
  }

  const panels = new Map<string, number>();
  for (const { c } of found) panels.set(c.labels[LABEL.panel] ?? '', (panels.get(c.labels[LABEL.panel] ?? '') ?? 0) + 1);
  const panelId = opts.panelId ?? [...panels].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  report.panelId = panelId;
  for (const [other, n] of panels) {
    if (other !== panelId) report.problems.push(`${n} container(s) belong to another panel (${other || 'no panel label'}) and were left alone`);
  }

  const plans = new Map<string, string>();
  for (const { node, c } of found.filter((f) => f.c.labels[LABEL.panel] === panelId)) {
    const envId = c.labels[LABEL.environment]!;
    const customerId = c.labels[LABEL.customer];
    const template = ctx.templates.get(c.labels[LABEL.template] ?? '');
    if (c.name !== containerName(envId)) {
      report.problems.push(`${c.name} on ${node.name} is a rebuild's second container (a plan change or move was cut short); the panel removes it when it starts`);
      continue;
    }
    if (!customerId || !template) {
      report.problems.push(`${c.name} on ${node.name} names ${!customerId ? 'no customer' : `template ${c.labels[LABEL.template] ?? '?'}, which this panel does not have`}; not recovered`);
      continue;
    }
    if (ctx.repos.environments.get(envId)) {
      report.problems.push(`environment ${envId} has containers on more than one node; the one on ${node.name} was not recorded`);
      continue;
    }
    if (!ctx.repos.customers.get(customerId)) {
      ctx.repos.customers.insert({ id: customerId, name: `Recovered ${customerId}`, email: `${customerId}@recovered.invalid`, passwordHash: null,
        limits: { environments: null, cpus: null, memoryMb: null, diskMb: null } });
      report.customers.push(customerId);
    }
    const limits = limitsOf(c);
    const key = JSON.stringify(limits);
    let planId = plans.get(key);
    if (!planId) {
      const name = `recovered-${limits.cpus}cpu-${limits.memoryMb}m-${limits.diskMb}d-${plans.size + 1}`;
      planId = createPlan(ctx, { name, ...limits, selectable: false }).id;
      plans.set(key, planId);
      report.plans.push(name);
    }
    const name = `recovered-${envId.slice(-8).toLowerCase().replace(/[^a-z0-9]/g, '0')}`;
    const ports = template.ports.map((p) => ({ name: p.name, protocol: p.protocol, containerPort: p.port }));
    ctx.repos.environments.insert({ id: envId, name, customerId, nodeId: node.id, templateId: template.id, planId, limits }, ports);
    const bound = ports.map((p) => {
      const hostPort = c.published.find((b) => b.containerPort === p.containerPort && b.protocol === p.protocol)?.hostPort;
      if (!hostPort) report.problems.push(`${name}: its ${p.name} port is not published by the container; a new host port was given`);
      return { ...p, hostPort: hostPort ?? ctx.repos.environments.get(envId)!.ports.find((x) => x.name === p.name)!.hostPort };
    });
    ctx.repos.environments.moveToNode(envId, node.id, c.id, c.imageId, bound);
    ctx.repos.environments.setState(envId, c.running ? 'running' : 'stopped');
    report.environments.push({ id: envId, name, node: node.name, state: c.running ? 'running' : 'stopped' });
  }
  if (panelId) ctx.repos.settings.set('panel_id', panelId);
  if (report.customers.length > 0) {
    report.problems.push(`${report.customers.length} customer(s) have placeholder names and emails and no password: set them in the admin console`);
  }
  if (report.environments.length > 0) {
    report.problems.push('environments have names made from their ids (names are not kept on the nodes) and new default hostnames:'
      + ' re-point CNAMEs made to the old hostnames, and tell billing systems that look environments up by name');
    report.problems.push('customers\' own domains, SSH keys and API tokens are not kept on the nodes: they must be added again');
  }
  return report;
}

function limitsOf(c: ContainerState): Limits {
  const memoryMb = Math.round(c.hostConfig.Memory / MIB);
  return {
    cpus: c.hostConfig.NanoCpus / 1e9, memoryMb,
    swapMb: c.hostConfig.MemorySwap > 0 ? Math.max(0, Math.round(c.hostConfig.MemorySwap / MIB) - memoryMb) : 0,
    diskMb: c.diskBytes === null ? 0 : Math.round(c.diskBytes / MIB),
    pids: c.hostConfig.PidsLimit, nofile: c.nofile ?? 16384,
  };
}
