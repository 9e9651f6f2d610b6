import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { principal } from '../auth.js';
import { openEventStream, relayUpdates, takeStream } from '../sse.js';
import { StreamRegistry, streamLimits } from '../streams.js';
import { tokenCredential } from '../stream-credentials.js';
import { errors } from './schemas.js';

/** Server-Sent Events: lifecycle and operation events the caller may see, as they happen. */
export const eventRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const streams = new StreamRegistry();
  app.addHook('preClose', async () => streams.closeAll());

  app.get('/events', {
    config: { stream: true },
    schema: { tags: ['events'], operationId: 'streamEvents', summary: 'Server-Sent Events stream (text/event-stream) of operation and environment events',
      description: 'Keeps the connection open and sends every operation and environment change as an event, with a comment every 15 s to keep it'
        + ' alive. An admin token receives all of them, a customer token only those of its own customer. A token may have'
        + ` ${streamLimits.eventsPerToken} streams open at once (429 beyond). The stream ends within about a second of its token being revoked,`
        + ' and a client that falls more than 256 KiB behind, or does not read for 60 s, is cut off: reconnect and re-read what you need.',
      response: { 200: { description: 'An event stream that stays open', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        ...errors(401, 429) } },
  }, async (request, reply) => {
    const who = principal(request);
    const credential = who.tokenId ? tokenCredential(ctx, who.tokenId) : { key: 'admin', alive: () => true };
    const slot = takeStream(streams, reply, 'events', streamLimits.eventsPerToken, credential, 'event streams per token');
    const sse = openEventStream(reply, slot);
    if (!sse) return;
    sse.comment('connected');
    relayUpdates(ctx.updates, sse, slot, who, { ids: true });
  });
};
