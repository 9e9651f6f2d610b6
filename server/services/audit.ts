import type { Principal } from '../domain/types.js';
import { newId, nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';

export interface AuditInput {
  principal: Principal | null;
  via: 'api' | 'web' | 'sftp';
  ip: string;
  action: string;
  resourceType?: string | null;
  resourceId?: string | null;
  status: number;
  detail?: string | null;
}

/** Records one mutation; the actor's label names the token, admin or customer login. */
export function audit(ctx: Context, e: AuditInput): void {
  const p = e.principal;
  ctx.repos.audit.append({
    id: newId('aud'), at: nowIso(),
    actorKind: p ? p.kind : 'anonymous',
    actorId: p ? (p.tokenId ?? (p.kind === 'customer' ? p.customerId : null)) : null,
    actorLabel: p ? p.label : 'anonymous',
    customerId: p?.kind === 'customer' ? p.customerId : null,
    via: e.via, ip: e.ip, action: e.action,
    resourceType: e.resourceType ?? null, resourceId: e.resourceId ?? null,
    status: e.status, detail: e.detail ? e.detail.slice(0, 1000) : null,
  });
}

const SECRET_KEY = /pass|secret|token|key|cert|confirm|current|^ca$|^tls$/i;

/** A request body as the audit log keeps it: secrets and PEM blocks left out, short. */
export function auditBody(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const kept = Object.fromEntries(Object.entries(body as Record<string, unknown>)
    .filter(([k]) => !SECRET_KEY.test(k) && k !== '_csrf')
    .map(([k, v]) => [k, typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v]));
  return Object.keys(kept).length ? JSON.stringify(kept).slice(0, 1000) : null;
}
