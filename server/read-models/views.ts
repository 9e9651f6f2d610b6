import type { Allocation, Customer, Domain, Environment, NodeRecord, Plan, Template } from '../domain/types.js';
import { challengeName } from '../domain/domain-names.js';
import type { EdgeStatus } from '../domain/edge.js';
import type { Context } from '../core/context.js';

/** The contract's shapes: what the API returns and the pages show. */

/** `hosts` (node id to public host) saves a lookup per environment when rendering a list. */
export function environmentView(ctx: Context, env: Environment, hosts?: Map<string, string>) {
  const host = hosts ? (hosts.get(env.nodeId) ?? null) : (ctx.repos.nodes.get(env.nodeId)?.publicHost ?? null);
  return {
    id: env.id, name: env.name, customerId: env.customerId, nodeId: env.nodeId, templateId: env.templateId, templateVersion: env.templateVersion,
    planId: env.planId, state: env.state, health: env.health, limits: env.limits, drift: env.drift,
    endpoints: env.ports.map((p) => ({ name: p.name, protocol: p.protocol, host, port: p.hostPort })),
    hostname: defaultHostname(ctx, env),
    sftp: ctx.config.sftpPort === null ? null : { host: ctx.config.sftpHost, port: ctx.config.sftpPort, username: env.id },
    createdAt: env.createdAt, updatedAt: env.updatedAt,
  };
}

/** The environment's name under KURA_BASE_DOMAIN, when there is one and the environment has an `http` port. */
export function defaultHostname(ctx: Context, env: Pick<Environment, 'hostnameLabel' | 'ports'>): string | null {
  const base = ctx.config.baseDomain;
  if (!base || !env.hostnameLabel || !env.ports.some((p) => p.name === 'http')) return null;
  return `${env.hostnameLabel}.${base}`;
}
export type EnvironmentView = ReturnType<typeof environmentView>;

export function nodeView(ctx: Context, node: NodeRecord, allocated: Allocation) {
  return {
    id: node.id, name: node.name, endpoint: node.endpoint, publicHost: node.publicHost, state: node.state,
    status: node.status, capacity: node.capacity, allocated, maxEnvironments: node.maxEnvironments,
    diskQuota: node.diskQuota, allowUnenforcedDisk: node.allowUnenforcedDisk, dockerVersion: node.dockerVersion,
    storageDriver: node.storageDriver, cpuOvercommit: node.cpuOvercommit, memoryOvercommit: node.memoryOvercommit,
    lastSeenAt: node.lastSeenAt, edge: edgeStatus(ctx, node.id),
    createdAt: node.createdAt, updatedAt: node.updatedAt,
  };
}

export function planView(p: Plan) {
  return { id: p.id, name: p.name, cpus: p.cpus, memoryMb: p.memoryMb, swapMb: p.swapMb, diskMb: p.diskMb, pids: p.pids, nofile: p.nofile,
    selectable: p.selectable, backups: p.backups, createdAt: p.createdAt, updatedAt: p.updatedAt };
}

export function customerView(c: Customer) {
  return { id: c.id, name: c.name, email: c.email, status: c.status, limits: c.limits, selfService: c.selfService,
    createdAt: c.createdAt, updatedAt: c.updatedAt };
}

export function templateView(ctx: Context, t: Template) {
  const plan = t.defaults ? ctx.repos.plans.byName(t.defaults.plan) : undefined;
  return {
    id: t.id, name: t.name, version: t.version, description: t.description, ports: t.ports, dataPath: t.dataPath,
    defaults: plan ? { planId: plan.id } : null,
    source: t.source.type, capabilities: t.capabilities,
  };
}

/** What the panel last knew of a node's edge. */
export function edgeStatus(ctx: Context, nodeId: string): EdgeStatus {
  if (!ctx.config.edge) return { status: 'error', message: 'the edge is turned off on this panel (KURA_EDGE=off)' };
  return ctx.edges.get(nodeId) ?? { status: 'starting' };
}

/** A customer domain as the contract shapes it, with what to set in DNS and why the last check did not prove it. */
export function domainView(ctx: Context, d: Domain, env = ctx.repos.environments.get(d.environmentId)) {
  return {
    id: d.id, environmentId: d.environmentId, name: d.name, asciiName: d.asciiName, status: d.status,
    verification: { type: 'dns-txt' as const, name: challengeName(d.asciiName), value: d.verificationValue },
    /** The other proof: the name as a CNAME to this (when the panel has a base domain). */
    cnameTarget: env ? defaultHostname(ctx, env) : null,
    reason: d.reason, checkedAt: d.checkedAt, nextCheckAt: d.nextCheckAt,
    certificate: { source: d.certificate.source, status: d.certificate.status, notAfter: d.certificate.notAfter, error: d.certificate.error },
    createdAt: d.createdAt, updatedAt: d.updatedAt,
  };
}
