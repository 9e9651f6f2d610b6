import { isIP } from 'node:net';
import type { EdgeChallenge, EdgeRoute } from '../domain/edge.js';
import type { PortBinding } from '../domain/types.js';
import { isKind } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';
import { defaultHostname } from './views.js';

/**
 * What every node's edge serves: each environment's default hostname and the customer
 * domains proven for it, to its `http` port on the node it runs on. The same table goes to
 * every edge, so any node answers for any site.
 */
export function edgeRoutes(ctx: Context): EdgeRoute[] {
  const routes: EdgeRoute[] = [];
  const upstreams = new Map<string, Pick<EdgeRoute, 'upstream' | 'next' | 'holdMs' | 'stopped'>>();
  for (const node of ctx.repos.nodes.all()) {
    for (const env of ctx.repos.environments.byNode(node.id)) {
      if (env.state === 'deleting') continue;
      const http = env.ports.find((p) => p.name === 'http' && p.protocol === 'tcp');
      if (!http) continue;
      const address = isIP(node.publicHost) === 6 ? `[${node.publicHost}]` : node.publicHost;
      // Stopped by its owner (not in the middle of an operation): a plain 503 says so.
      const stopped = env.desiredState === 'stopped' && env.state === 'stopped' && ctx.repos.operations.openFor(env.id).length === 0;
      const route = { upstream: `${address}:${http.hostPort}`, ...switching(ctx, env.id), ...(stopped ? { stopped: true } : {}) };
      upstreams.set(env.id, route);
      const host = defaultHostname(ctx, env);
      if (host) routes.push({ host, ...route });
    }
  }
  for (const d of ctx.repos.domains.active()) {
    const upstream = upstreams.get(d.environmentId);
    if (!upstream) continue;
    const c = d.certificate;
    const tls = c.status === 'issued' && c.pem && c.keySealed ? { certPem: c.pem, keyPem: ctx.secrets.open(c.keySealed) } : undefined;
    routes.push({ host: d.asciiName, ...upstream, ...(tls ? { tls } : {}) });
  }
  return routes;
}

/** The HTTP-01 answers every edge serves while a CA validates names. */
export function edgeChallenges(ctx: Context): EdgeChallenge[] {
  return ctx.repos.domains.challenges().map((c) => ({ host: c.asciiName, token: c.token, keyAuthorization: c.keyAuthorization }));
}

/** How long the edge holds a request while an environment switches to its new container. */
export const SWITCH_HOLD_MS = 5000;

/**
 * While an environment moves, or is rebuilt for a new disk: its target address (once the
 * operation chose one) and the hold, so a request that meets the short stop waits for the
 * new container instead of failing.
 */
function switching(ctx: Context, envId: string): Partial<Pick<EdgeRoute, 'upstream' | 'next' | 'holdMs'>> {
  for (const op of ctx.repos.operations.openFor(envId)) {
    const target = isKind(op, 'migrate') ? op.params.targetNodeId : isKind(op, 'resize') ? op.params.rebuild?.targetNodeId : undefined;
    if (!target) continue;
    const node = ctx.repos.nodes.get(target);
    const env = ctx.repos.environments.get(envId);
    const port = (op.checkpoint as { ports?: PortBinding[] }).ports?.find((p) => p.name === 'http')?.hostPort
      ?? (target === env?.nodeId ? env.ports.find((p) => p.name === 'http')?.hostPort : undefined);
    if (!node || port === undefined) return { holdMs: SWITCH_HOLD_MS };
    const address = isIP(node.publicHost) === 6 ? `[${node.publicHost}]` : node.publicHost;
    const next = `${address}:${port}`;
    // Once the source is about to stop, nothing more is sent to it: requests wait for the new place.
    if ((op.checkpoint as { draining?: boolean }).draining) return { upstream: next, holdMs: SWITCH_HOLD_MS };
    return { next, holdMs: SWITCH_HOLD_MS };
  }
  return {};
}
