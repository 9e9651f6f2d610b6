import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/types.js';
import type { Context } from '../core/context.js';
import { audit, auditBody } from '../services/audit.js';
import { errorMessage } from '../lib/errors.js';

/** What a handler may add to its audit entry: a clearer action name, the resource, a detail. */
export interface AuditNote {
  action?: string;
  resourceType?: string;
  resourceId?: string;
  detail?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNote: AuditNote | null;
  }
}

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Appends one audit entry for every mutation that succeeded in this scope: who (token,
 * admin or customer login), what (action, resource, body without secrets), when, and
 * from which address. Refused requests changed nothing and are not recorded.
 */
export function registerAudit(app: FastifyInstance, ctx: Context, via: 'api' | 'web',
  principalOf: (request: FastifyRequest) => Principal | null): void {
  app.decorateRequest('auditNote', null);
  app.addHook('onSend', async (request, reply, payload) => {
    if (!MUTATIONS.has(request.method) || reply.statusCode >= 400 || request.is404) return payload;
    const note = request.auditNote ?? {};
    const pattern = request.routeOptions.url ?? request.url;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const created = note.resourceId === undefined && typeof params.id !== 'string' ? createdId(payload) : undefined;
    try {
      audit(ctx, {
        principal: principalOf(request), via, ip: request.ip,
        action: note.action ?? `${request.method} ${pattern}`,
        resourceType: note.resourceType ?? resourceTypeOf(pattern),
        resourceId: note.resourceId ?? (typeof params.id === 'string' ? params.id : created) ?? null,
        status: reply.statusCode,
        detail: note.detail ?? auditBody(request.body),
      });
    } catch (err) {
      // The mutation already happened; a failed audit write is logged loudly rather than turned into an error reply.
      request.log.error({ err: errorMessage(err) }, 'audit entry could not be written');
    }
    return payload;
  });
}

function resourceTypeOf(pattern: string): string | null {
  const m = /\/(nodes|plans|customers|tokens|environments|templates|operations|fleet)\b/.exec(pattern);
  return m ? m[1]!.replace(/s$/, '') : null;
}

/** The id of what a POST created, read from its JSON answer. */
function createdId(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 65536 || !payload.startsWith('{')) return undefined;
  try {
    const body = JSON.parse(payload) as { id?: unknown; environment?: { id?: unknown } };
    const id = body.environment?.id ?? body.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined; // not JSON after all: nothing to read an id from
  }
}
