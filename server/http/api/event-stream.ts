import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { principal } from '../auth.js';
import { openEventStream } from '../sse.js';

const HEARTBEAT_MS = 15_000;

/** Server-Sent Events: lifecycle and operation events the caller may see, as they happen. */
export const eventRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/events', {
    schema: { tags: ['events'], operationId: 'streamEvents', summary: 'Server-Sent Events stream (text/event-stream) of operation and environment events',
      description: 'Keeps the connection open and sends every operation and environment change as an event, with a comment every 15 s to keep it'
        + ' alive. An admin token receives all of them, a customer token only those of its own customer.',
      response: { 200: { description: 'An event stream that stays open', content: { 'text/event-stream': { schema: { type: 'string' } } } } } },
  }, async (request, reply) => {
    const who = principal(request);
    const sse = openEventStream(reply);
    const res = sse.res;
    sse.comment('connected');
    let seq = 0;
    const unsubscribe = ctx.updates.subscribe((event) => {
      if (who.kind === 'customer' && event.customerId !== who.customerId) return;
      const data = who.kind === 'customer' ? event.customerData ?? event.data : event.data;
      res.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
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
