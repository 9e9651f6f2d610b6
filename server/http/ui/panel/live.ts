import type { FastifyInstance } from 'fastify';
import type { Ui } from '../ui.js';
import { signedIn } from '../web-request.js';
import { openEventStream, relayUpdates, takeStream } from '../../sse.js';
import { streamLimits } from '../../streams.js';
import { sessionCredential } from '../../stream-credentials.js';
import { environmentView } from '../../../read-models/views.js';
import { publicOperation } from '../../../db/repos/operations.js';
import type { Principal } from '../../../domain/types.js';
import type { Context } from '../../../core/context.js';
import { maySee } from '../../../domain/access.js';

/** At most this many environments and operations are brought up to date when a page (re)connects. */
const CATCH_UP = 200;

/**
 * Live updates for the pages: the same events as the API's stream, filtered to what the
 * signed-in account may see, and closed once its session ends. A page names the
 * environments and operations it shows (`?env=a,b&op=c`); on every (re)connect their
 * current state is sent first, so a change made while the page was loading or its
 * stream was down (or cut off for falling behind) is not missed.
 */
export const livePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, streams } = ui;
  app.get<{ Querystring: { env?: string; op?: string } }>('/events', { config: { stream: true } }, async (request, reply) => {
    const { principal: who, session } = signedIn(request);
    const slot = takeStream(streams, reply, 'live', streamLimits.livePerSession, sessionCredential(ctx, session.idHash), 'live update streams');
    const snapshot = catchUp(ctx, who, ids(request.query.env), ids(request.query.op));
    const sse = openEventStream(reply, slot, { retryMs: 3000 });
    if (!sse) return;
    sse.comment('connected');
    for (const [type, data] of snapshot) sse.send(type, data);
    relayUpdates(ctx.updates, sse, slot, who);
  });
};

function ids(list: string | undefined): string[] {
  if (typeof list !== 'string') return [];
  return [...new Set(list.split(',').filter((id) => /^[a-z]{2,5}_[0-9a-z]{20}$/.test(id)))].slice(0, CATCH_UP);
}

/** The current state of the named environments and operations that this account may see. */
function catchUp(ctx: Context, who: Principal, envIds: string[], opIds: string[]): Array<['environment' | 'operation', unknown]> {
  const out: Array<['environment' | 'operation', unknown]> = [];
  for (const id of envIds) {
    const env = ctx.repos.environments.get(id);
    if (env && maySee(who, env.customerId)) out.push(['environment', environmentView(ctx, env)]);
  }
  for (const id of opIds) {
    const op = ctx.repos.operations.get(id);
    if (op && maySee(who, op.customerId)) out.push(['operation', publicOperation(op, who.kind)]);
  }
  return out;
}
