import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KuraError } from '../lib/errors.js';
import { principalOwner } from '../services/auth.js';
import type { IdempotencyRepo } from '../db/repos/idempotency.js';
import type { SecretBox } from '../lib/secrets.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { owner: string; key: string } | null;
  }
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on POST: the first response for a key is stored and replayed for
 * a repeat with the same body; a different body with the same key is refused (422).
 * Stored bodies are sealed with the panel's key: a response can carry a secret (a new
 * token's value), and the replay table must not keep one readable for 48 hours.
 */
export function registerIdempotency(app: FastifyInstance, repo: IdempotencyRepo, secrets: SecretBox): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    const key = request.headers['idempotency-key'];
    if (key === undefined || !request.principal) return;
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new KuraError('bad_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', { field: 'Idempotency-Key' });
    }
    const owner = principalOwner(request.principal);
    const hash = requestHash(request);
    if (repo.claim(owner, key, hash)) {
      request.idempotency = { owner, key };
      return;
    }
    const stored = repo.get(owner, key)!;
    // Bodies stored before sealing (JSON, no secret in them) still replay as they are.
    if (stored.requestHash !== hash) {
      throw new KuraError('idempotency_mismatch', 'this Idempotency-Key was used with a different request');
    }
    if (stored.statusCode === null || stored.body === null) {
      throw new KuraError('conflict', 'a request with this Idempotency-Key is still being processed; retry shortly');
    }
    return reply.code(stored.statusCode).headers({ ...stored.headers, 'idempotent-replay': 'true' })
      .type('application/json').send(stored.body.startsWith('{') ? stored.body : secrets.open(stored.body));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const idem = request.idempotency;
    if (!idem) return payload;
    // A 429 did nothing and asks for the same request again later: the key stays free for it.
    if (reply.statusCode >= 500 || reply.statusCode === 429 || typeof payload !== 'string') {
      repo.release(idem.owner, idem.key);
    } else {
      const location = reply.getHeader('location');
      repo.complete(idem.owner, idem.key, reply.statusCode, secrets.seal(payload), typeof location === 'string' ? { location } : {});
    }
    return payload;
  });
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256').update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
}
