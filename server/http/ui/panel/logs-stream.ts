import type { FastifyInstance } from 'fastify';
import { environmentFor } from '../../../services/environments.js';
import { followEnvironmentLogs } from '../../../services/environment-io.js';
import { ConflictError } from '../../../lib/errors.js';
import type { LogFollow } from '../../../docker/node-client.js';
import type { Ui } from '../ui.js';
import { signedIn } from '../web-request.js';
import { openEventStream, takeStream } from '../../sse.js';
import { streamLimits } from '../../streams.js';
import { sessionCredential } from '../../stream-credentials.js';

/**
 * "Follow" on the environment page: the container's new log output as server-sent
 * events (`event: log`, data a JSON string), until the browser leaves or the session
 * ends. Reading from the node pauses while the browser's socket is full, so a browser
 * that stops reading costs the panel a few buffers, not the whole log.
 */
export const logsStreamPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, streams } = ui;

  app.get<{ Params: { id: string } }>('/environments/:id/logs/stream', { config: { stream: true } }, async (request, reply) => {
    const { principal, session } = signedIn(request);
    const env = environmentFor(ctx, principal, request.params.id);
    if (!env.containerId) throw new ConflictError('the environment has no container yet');
    // Counted before the node is asked: each open stream holds a connection to it.
    const slot = takeStream(streams, reply, 'logs', streamLimits.logsPerSession, sessionCredential(ctx, session.idHash), 'log streams');
    let follow: LogFollow;
    try {
      follow = await followEnvironmentLogs(ctx, env);
    } catch (err) {
      slot.end('source');
      throw err;
    }
    slot.onEnd(() => follow.close());
    const sse = openEventStream(reply, slot, { retryMs: 3000 });
    if (!sse) return;
    sse.comment('following');
    const text = follow.stream;
    text.on('data', (chunk: string) => {
      if (!sse.send('log', chunk)) text.pause();
    });
    sse.onDrain(() => text.resume());
    text.on('error', (err) => {
      request.log.warn({ err: err.message, env: env.id }, 'log stream from the node failed');
      slot.end('source');
    });
    // A stopped container's log ends: the browser reconnects after the retry time.
    text.on('end', () => slot.end('source'));
  });
};
