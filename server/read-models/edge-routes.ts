import { isIP } from 'node:net';
import type { EdgeRoute } from '../domain/edge.js';
import type { Context } from '../core/context.js';
import { defaultHostname } from './views.js';

/**
 * What every node's edge serves: each environment's default hostname, to its `http` port on
 * the node it runs on. The same table goes to every edge, so any node answers for any site.
 */
export function edgeRoutes(ctx: Context): EdgeRoute[] {
  const routes: EdgeRoute[] = [];
  for (const node of ctx.repos.nodes.all()) {
    for (const env of ctx.repos.environments.byNode(node.id)) {
      if (env.state === 'deleting') continue;
      const host = defaultHostname(ctx, env);
      const http = env.ports.find((p) => p.name === 'http' && p.protocol === 'tcp');
      if (!host || !http) continue;
      const address = isIP(node.publicHost) === 6 ? `[${node.publicHost}]` : node.publicHost;
      routes.push({ host, upstream: `${address}:${http.hostPort}` });
    }
  }
  return routes;
}
