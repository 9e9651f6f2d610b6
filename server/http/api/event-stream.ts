import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { principal } from '../auth.js';
import { openEventStream } from '../sse.js';

const HEARTBEAT_MS = 15_000;

/** Server-Sent Events: lifecycle and operation events the caller may see, as they happen. */
export const eventRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/events', {
    schema: { tags: ['events'], summary: 'Server-Sent Events stream (text/event-stream) of operation and environment events' },
  }, async (request, reply) => {
    const who = principal(request);
    const sse = openEventStream(reply);
    const res = sse.res;
    sse.comment('connected');
    let seq = 0;
    const unsubscribe = ctx.updates.subscribe((event) => {
      if (who.kind === 'customer' && event.customerId !== who.customerId) return;
      res.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const heartbeat = setInterval(() => sse.comment('keep-alive'), HEARTBEAT_MS);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.on('close', close);
    res.on('error', close);
  });
};
