import type { OperationOf } from '../db/repos/operations.js';
import { BadRequestError, KuraError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { SourceLogin } from '../sources/ssh.js';
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
export function sealSource(ctx: Context, s: SourceInput): { host: string; port: number; user: string; sealed: string } {
  if (!HOST.test(s.host) || s.host.length > 253) throw new BadRequestError('source.host must be a host name or an IP address', { field: 'source.host' });
  if (!USER.test(s.user)) throw new BadRequestError('source.user must be a user name', { field: 'source.user' });
  if (!s.password && !s.privateKey) throw new BadRequestError('give source.password or source.privateKey', { field: 'source.password' });
  if (s.privateKey && !/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.privateKey.trim())) {
    throw new BadRequestError('source.privateKey must be a private key in PEM or OpenSSH form', { field: 'source.privateKey' });
  }
  const secrets = JSON.stringify({ ...(s.password ? { password: s.password } : {}), ...(s.privateKey ? { privateKey: s.privateKey } : {}) });
  return { host: s.host.replace(/^\[|\]$/g, ''), port: s.port ?? 22, user: s.user, sealed: ctx.secrets.seal(secrets) };
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
