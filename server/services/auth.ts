import type { Principal } from '../domain/types.js';
import { KuraError } from '../lib/errors.js';
import { hashToken } from '../lib/secrets.js';
import type { Context } from '../core/context.js';

/** Resolves a bearer token to who is calling; anything else is 401 with the reason. */
export function authenticate(ctx: Context, header: string | undefined): Principal {
  if (!header) throw new KuraError('unauthorized', 'missing Authorization: Bearer <token> header');
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/.exec(header);
  if (!match?.[1]) throw new KuraError('unauthorized', 'Authorization header must be "Bearer <token>"');
  const token = ctx.repos.tokens.byHash(hashToken(match[1]));
  if (!token) throw new KuraError('unauthorized', 'unknown or revoked token');
  noteUse(ctx, token.id, token.lastUsedAt);
  if (token.scope === 'admin') return { kind: 'admin', tokenId: token.id, label: `admin token "${token.name}" (${token.id})` };
  return { kind: 'customer', customerId: token.customerId!, tokenId: token.id, label: `customer token "${token.name}" (${token.id})` };
}

/** How stale a token's recorded last use may get: at most one write a minute per token, not one per request. */
const LAST_USED_PRECISION_MS = 60_000;

function noteUse(ctx: Context, tokenId: string, lastUsedAt: string | null): void {
  if (lastUsedAt !== null && Date.now() - Date.parse(lastUsedAt) < LAST_USED_PRECISION_MS) return;
  ctx.repos.tokens.touch(tokenId);
}

/** The owner that idempotency keys are kept per. */
export function principalOwner(who: Principal): string {
  return who.kind === 'admin' ? 'admin' : `customer:${who.customerId}`;
}

/** Whether a token still exists; long-lived API streams poll this, so a revoked token's stream ends. */
export function tokenAlive(ctx: Context, tokenId: string): boolean {
  return ctx.repos.tokens.get(tokenId) !== undefined;
}
