import type { FastifyInstance } from 'fastify';
import type { Ui } from '../index.js';
import { sessionAlive } from '../../../services/sessions.js';
import { signedIn } from '../web-request.js';

const HEARTBEAT_MS = 15_000;

/**
 * Live updates for the pages: the same events as the API's stream, filtered to what the
 * signed-in account may see, and closed once its session ends.
 */
export const livePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx } = ui;
  app.get('/events', async (request, reply) => {
    const { principal: who, session } = signedIn(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    const unsubscribe = ctx.events.subscribe((event) => {
      if (who.kind === 'customer' && event.customerId !== who.customerId) return;
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const heartbeat = setInterval(() => {
      if (!sessionAlive(ctx, session.idHash)) {
        res.end();
        return;
      }
      res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.on('close', close);
    res.on('error', close);
  });
};
