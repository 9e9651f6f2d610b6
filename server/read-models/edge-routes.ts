import { isIP } from 'node:net';
import type { EdgeChallenge, EdgeRoute } from '../domain/edge.js';
import type { Context } from '../core/context.js';
import { defaultHostname } from './views.js';

/**
 * What every node's edge serves: each environment's default hostname and the customer
 * domains proven for it, to its `http` port on the node it runs on. The same table goes to
 * every edge, so any node answers for any site.
 */
export function edgeRoutes(ctx: Context): EdgeRoute[] {
  const routes: EdgeRoute[] = [];
  const upstreams = new Map<string, string>();
  for (const node of ctx.repos.nodes.all()) {
    for (const env of ctx.repos.environments.byNode(node.id)) {
      if (env.state === 'deleting') continue;
      const http = env.ports.find((p) => p.name === 'http' && p.protocol === 'tcp');
      if (!http) continue;
      const address = isIP(node.publicHost) === 6 ? `[${node.publicHost}]` : node.publicHost;
      const upstream = `${address}:${http.hostPort}`;
      upstreams.set(env.id, upstream);
      const host = defaultHostname(ctx, env);
      if (host) routes.push({ host, upstream });
    }
  }
  for (const d of ctx.repos.domains.active()) {
    const upstream = upstreams.get(d.environmentId);
    if (!upstream) continue;
    const c = d.certificate;
    const tls = c.status === 'issued' && c.pem && c.keySealed ? { certPem: c.pem, keyPem: ctx.secrets.open(c.keySealed) } : undefined;
    routes.push({ host: d.asciiName, upstream, ...(tls ? { tls } : {}) });
  }
  return routes;
}

/** The HTTP-01 answers every edge serves while a CA validates names. */
export function edgeChallenges(ctx: Context): EdgeChallenge[] {
  return ctx.repos.domains.challenges().map((c) => ({ host: c.asciiName, token: c.token, keyAuthorization: c.keyAuthorization }));
}
