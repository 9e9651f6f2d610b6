import { isIP } from 'node:net';
import type { EdgeRoute } from '../domain/edge.js';
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
    if (upstream) routes.push({ host: d.asciiName, upstream });
  }
  return routes;
}
