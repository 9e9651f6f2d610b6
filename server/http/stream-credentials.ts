import type { Context } from '../core/context.js';
import { sessionAlive } from '../services/sessions.js';
import { tokenAlive } from '../services/auth.js';
import type { Credential } from './streams.js';

/** A web session: it ends at logout, after its idle time, or when the password changes. */
export function sessionCredential(ctx: Context, idHash: string): Credential {
  return { key: `session:${idHash}`, alive: () => sessionAlive(ctx, idHash) };
}

/** An API token: it ends when revoked (or, for KURA_ADMIN_TOKEN, when the setting changes and the panel restarts). */
export function tokenCredential(ctx: Context, tokenId: string): Credential {
  return { key: `token:${tokenId}`, alive: () => tokenAlive(ctx, tokenId) };
}
