import { BlockList, isIP } from 'node:net';
import { isKind, type OperationOf } from '../db/repos/operations.js';
import { dockerArch, findings, importPlan, isComplete, parseFacts } from '../domain/imports.js';
import type { Environment } from '../domain/types.js';
import { BadRequestError, ConflictError, KuraError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { PREFLIGHT_SCRIPT } from '../sources/preflight-script.js';
import { readSource, type SourceLogin } from '../sources/ssh.js';
import { createEnvironment } from './environments.js';
import type { Context } from '../core/context.js';
import { startOperation } from './operations.js';

/** A source server as the API and the admin console give it. */
export interface SourceInput {
  type: 'ssh';
  host: string;
  port?: number | undefined;
  user: string;
  password?: string | undefined;
  privateKey?: string | undefined;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9a-fA-F:]+\]?)$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/** The login checked and its secrets sealed, as an operation keeps it. */
export interface SealedSource {
  host: string;
  port: number;
  user: string;
  sealed: string;
}

export function sealSource(ctx: Context, s: SourceInput): SealedSource {
  if (!HOST.test(s.host) || s.host.length > 253) throw new BadRequestError('source.host must be a host name or an IP address', { field: 'source.host' });
  const allowed = ctx.config.importSources;
  if (allowed && !sourceAllowed(s.host.replace(/^\[|\]$/g, ''), allowed)) {
    throw new BadRequestError(`this panel imports only from ${allowed.join(', ')} (KURA_IMPORT_SOURCES): give the source's IP address in one of them`, { field: 'source.host' });
  }
  if (!USER.test(s.user)) throw new BadRequestError('source.user must be a user name', { field: 'source.user' });
  if (!s.password && !s.privateKey) throw new BadRequestError('give source.password or source.privateKey', { field: 'source.password' });
  if (s.privateKey && !/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.privateKey.trim())) {
    throw new BadRequestError('source.privateKey must be a private key in PEM or OpenSSH form', { field: 'source.privateKey' });
  }
  const secrets = JSON.stringify({ ...(s.password ? { password: s.password } : {}), ...(s.privateKey ? { privateKey: s.privateKey } : {}) });
  return { host: s.host.replace(/^\[|\]$/g, ''), port: s.port ?? 22, user: s.user, sealed: ctx.secrets.seal(secrets) };
}

/** Whether an IP literal is inside one of the CIDRs (a host name never is: resolving it would already reach out). */
export function sourceAllowed(host: string, cidrs: readonly string[]): boolean {
  const family = isIP(host);
  if (family === 0) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const f = isIP(net ?? '');
    if (f !== 0) list.addSubnet(net!, Number(bits), f === 6 ? 'ipv6' : 'ipv4');
  }
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

export function openSource(ctx: Context, s: { host: string; port: number; user: string; sealed: string }): SourceLogin {
  const secrets = JSON.parse(ctx.secrets.open(s.sealed)) as { password?: string; privateKey?: string };
  return { host: s.host, port: s.port, user: s.user, password: secrets.password, privateKey: secrets.privateKey };
}

/** Starts a preflight of a source server (admin); its operation's result is the report. */
export function startPreflight(ctx: Context, input: { source: SourceInput; planId?: string | undefined }): OperationOf<'preflight'> {
  if (input.planId !== undefined && !ctx.repos.plans.get(input.planId)) throw new BadRequestError(`plan ${input.planId} does not exist`, { field: 'planId' });
  const source = sealSource(ctx, input.source);
  return startOperation(ctx, { kind: 'preflight', resourceId: newId('imp'), customerId: null,
    params: { source, ...(input.planId !== undefined ? { planId: input.planId } : {}) } });
}

/** The CPU architecture the fleet runs, in Docker's words, from the first node that answers. */
export async function fleetArch(ctx: Context): Promise<string> {
  for (const node of ctx.repos.nodes.all().filter((n) => n.status === 'online')) {
    try {
      return (await ctx.nodes.get(node.id).facts()).architecture;
    } catch {
      // the next node
    }
  }
  throw new KuraError('node_unavailable', 'no node answers, so the fleet\'s CPU architecture is unknown; try again when a node is online');
}

export interface ImportInput {
  source: SourceInput;
  name: string;
  customerId: string;
  planId: string;
  nodeId?: string | undefined;
  force?: boolean | undefined;
}

/**
 * Starts an import (admin): a preflight first (answered here, so blockers refuse the import
 * with 409 unless `force`), then a new environment from the `imported` base publishing the
 * source's ports, and the import operation queued behind its provisioning.
 */
export function startImport(ctx: Context, input: ImportInput): Promise<{ environment: Environment; operation: OperationOf<'import'> }> {
  return startImportFrom(ctx, sealSource(ctx, input.source), input);
}

/** The same, from a login already checked and sealed (the admin console's, kept from its preflight). */
export async function startImportFrom(ctx: Context, source: SealedSource, input: Omit<ImportInput, 'source'>):
  Promise<{ environment: Environment; operation: OperationOf<'import'> }> {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(input.name)) {
    throw new BadRequestError('the name must be 1-63 of a-z, 0-9 and -, not starting or ending with -', { field: 'name' });
  }
  if (!ctx.repos.customers.get(input.customerId)) throw new BadRequestError(`customer ${input.customerId} does not exist`, { field: 'customerId' });
  const plan = ctx.repos.plans.get(input.planId);
  if (!plan) throw new BadRequestError(`plan ${input.planId} does not exist`, { field: 'planId' });
  if (!ctx.templates.get(IMPORTED_TEMPLATE)) throw new KuraError('internal', `the ${IMPORTED_TEMPLATE} template is missing from templates/`);
  const read = await readSource(openSource(ctx, source), PREFLIGHT_SCRIPT, { totalMs: 120_000 });
  if (!isComplete(read.output)) throw new BadRequestError(`${source.host} stopped answering midway: its facts are incomplete`, { field: 'source' });
  const facts = parseFacts(read.output, read.hostKey);
  const report = findings(facts, { nodeArch: dockerArch(await fleetArch(ctx)), planDiskMb: plan.diskMb });
  const blockers = report.filter((f) => f.severity === 'blocker');
  if (blockers.length > 0 && !input.force) {
    throw new ConflictError(`preflight found ${blockers.length} blocker${blockers.length === 1 ? '' : 's'}: ${blockers.map((b) => b.title).join('; ')} (import with "force": true to go on anyway)`,
      { blockers });
  }
  const steps = importPlan(facts);
  const { environment } = createEnvironment(ctx, { kind: 'admin', tokenId: null, label: 'import' }, {
    name: input.name, templateId: IMPORTED_TEMPLATE, planId: input.planId, customerId: input.customerId, nodeId: input.nodeId,
    ports: steps.ports.map((port) => ({ name: `port-${port}`, protocol: 'tcp' as const, containerPort: port })),
  });
  const operation = startOperation(ctx, { kind: 'import', resourceId: environment.id, customerId: environment.customerId,
    params: { source, hostKey: read.hostKey, diskMb: facts.diskMb, plan: steps } });
  return { environment, operation };
}

export const IMPORTED_TEMPLATE = 'imported';

/**
 * A refresh pass of an imported environment (admin): the source read again, copying only
 * what changed since the last good pass began, so the final cut-over from a live source is
 * short; then the same adaptation, restart and checks. Files deleted on the source since
 * stay in the environment.
 */
export function refreshImport(ctx: Context, environmentId: string): OperationOf<'import'> {
  const env = ctx.repos.environments.get(environmentId);
  if (!env) throw new NotFoundError('environment', environmentId);
  const last = ctx.repos.operations.recentFor(env.id, 200).find((o) => o.kind === 'import' && o.status === 'succeeded');
  const previous = last ? ctx.repos.operations.get(last.id) : undefined;
  if (!previous || !isKind(previous, 'import') || !previous.result) {
    throw new ConflictError('the environment has no finished import to refresh; import the server first');
  }
  return startOperation(ctx, { kind: 'import', resourceId: env.id, customerId: env.customerId,
    params: { ...previous.params, since: previous.result.startedAt } }, () => {
    if (ctx.repos.operations.openFor(env.id).some((o) => o.kind === 'import')) throw new ConflictError('an import of this environment is already running');
  });
}
