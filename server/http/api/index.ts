import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import type { Principal } from '../../domain/types.js';
import { authenticate } from '../../services/auth.js';
import { addressCaller, tokenCaller, type RequestLimits } from '../rate-limit.js';
import { registerIdempotency } from '../idempotency.js';
import { registerAudit } from '../audit-hook.js';
import { nodeRoutes } from './nodes.js';
import { templateRoutes } from './templates.js';
import { planRoutes } from './plans.js';
import { customerRoutes } from './customers.js';
import { environmentRoutes } from './environments.js';
import { operationRoutes } from './operations.js';
import { eventRoutes } from './event-stream.js';
import { fleetRoutes } from './fleet.js';
import { moveRoutes } from './moves.js';
import { mobilityRoutes } from './mobility.js';
import { usageRoutes } from './usage.js';
import { domainRoutes } from './domains.js';
import { sshKeyRoutes } from './ssh-keys.js';
import { fileRoutes } from './files.js';
import { backupRoutes } from './backups.js';
import { importRoutes } from './imports.js';

/** The provisioning API v1: every route behind a bearer token, each token within its limits. */
export const apiV1 = (ctx: Context, limits: RequestLimits): FastifyPluginAsyncTypebox => async (app) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    let who: Principal;
    try {
      who = authenticate(ctx, request.headers.authorization);
    } catch (err) {
      // Without a valid token a request counts against its address, so guessing tokens is limited too.
      await limits.admit(request, reply, addressCaller(request));
      throw err;
    }
    request.principal = who;
    await limits.admit(request, reply, tokenCaller(who));
  });
  registerIdempotency(app, ctx.repos.idempotency, ctx.secrets);
  registerAudit(app, ctx, 'api', (request) => request.principal);
  await app.register(nodeRoutes(ctx));
  await app.register(templateRoutes(ctx));
  await app.register(planRoutes(ctx));
  await app.register(customerRoutes(ctx));
  await app.register(environmentRoutes(ctx));
  await app.register(usageRoutes(ctx));
  await app.register(domainRoutes(ctx));
  await app.register(sshKeyRoutes(ctx));
  await app.register(fileRoutes(ctx));
  await app.register(backupRoutes(ctx));
  await app.register(importRoutes(ctx));
  await app.register(operationRoutes(ctx));
  await app.register(eventRoutes(ctx));
  await app.register(fleetRoutes(ctx));
  await app.register(moveRoutes(ctx));
  await app.register(mobilityRoutes(ctx));
};
