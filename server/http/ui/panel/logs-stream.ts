import type { FastifyInstance } from 'fastify';
import { environmentFor } from '../../../services/environments.js';
import { followEnvironmentLogs } from '../../../services/environment-io.js';
import { sessionAlive } from '../../../services/sessions.js';
import { ConflictError, KuraError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { signedIn } from '../web-request.js';
import { openEventStream } from '../../sse.js';

/** Keep-alive comments for proxies, and how often an open stream checks its session. */
export const logsStreamTimings = { keepAliveMs: 15_000, sessionCheckMs: 5_000 };
/** Each open stream holds a connection to the node. */
const PER_SESSION = 4;

/**
 * "Follow" on the environment page: the container's new log output as server-sent
 * events (`event: log`, data a JSON string), until the browser leaves or the session ends.
 */
export const logsStreamPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx } = ui;
  const openPerSession = new Map<string, number>();

  app.get<{ Params: { id: string } }>('/environments/:id/logs/stream', async (request, reply) => {
    const { principal, session } = signedIn(request);
    const env = environmentFor(ctx, principal, request.params.id);
    if (!env.containerId) throw new ConflictError('the environment has no container yet');
    const count = openPerSession.get(session.idHash) ?? 0;
    if (count >= PER_SESSION) throw new KuraError('rate_limited', `at most ${PER_SESSION} log streams may be open at once`);
    const follow = await followEnvironmentLogs(ctx, env);
    openPerSession.set(session.idHash, count + 1);

    const sse = openEventStream(reply, { retryMs: 3000 });
    const res = sse.res;
    sse.comment('following');
    follow.stream.on('data', (text: string) => sse.send('log', text));
    follow.stream.on('error', (err) => {
      request.log.warn({ err: err.message, env: env.id }, 'log stream from the node failed');
      res.end();
    });
    // A stopped container's log ends: the browser reconnects after the retry time.
    follow.stream.on('end', () => res.end());
    const keepAlive = setInterval(() => sse.comment('keep-alive'), logsStreamTimings.keepAliveMs);
    const sessionCheck = setInterval(() => {
      if (!sessionAlive(ctx, session.idHash)) res.end();
    }, logsStreamTimings.sessionCheckMs);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      clearInterval(sessionCheck);
      follow.close();
      const left = (openPerSession.get(session.idHash) ?? 1) - 1;
      if (left > 0) openPerSession.set(session.idHash, left);
      else openPerSession.delete(session.idHash);
    };
    res.on('close', close);
    res.on('error', close);
  });
};
