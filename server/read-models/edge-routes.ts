import { dialAddress, type EdgeChallenge, type EdgeRoute } from '../domain/edge.js';
import type { Environment, NodeRecord, PortBinding } from '../domain/types.js';
import { isKind, type OperationRecord } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';
import { defaultHostname } from './views.js';

/**
 * What every node's edge serves: each environment's default hostname and the customer
 * domains proven for it, to its `http` port on the node it runs on. The same table goes to
 * every edge, so any node answers for any site. It is made on every change the panel sees,
 * so it reads the nodes and the open operations once, not per environment.
 */
export function edgeRoutes(ctx: Context): EdgeRoute[] {
  const routes: EdgeRoute[] = [];
  const upstreams = new Map<string, Pick<EdgeRoute, 'upstream' | 'next' | 'holdMs' | 'stopped'>>();
  const nodes = new Map(ctx.repos.nodes.all().map((n) => [n.id, n]));
  const open = new Map<string, OperationRecord[]>();
  for (const op of ctx.repos.operations.open()) open.set(op.resource.id, [...(open.get(op.resource.id) ?? []), op]);
  for (const node of nodes.values()) {
    for (const env of ctx.repos.environments.byNode(node.id)) {
      if (env.state === 'deleting') continue;
      const http = env.ports.find((p) => p.name === 'http' && p.protocol === 'tcp');
      if (!http) continue;
      const ops = open.get(env.id) ?? [];
      // Stopped by its owner (not in the middle of an operation): a plain 503 says so.
      const stopped = env.desiredState === 'stopped' && env.state === 'stopped' && ops.length === 0;
      const route = { upstream: dialAddress(node.publicHost, http.hostPort), ...switching(nodes, env, ops), ...(stopped ? { stopped: true } : {}) };
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
function switching(nodes: ReadonlyMap<string, NodeRecord>, env: Environment, ops: readonly OperationRecord[]):
  Partial<Pick<EdgeRoute, 'upstream' | 'next' | 'holdMs'>> {
  for (const op of ops) {
    const target = isKind(op, 'migrate') ? op.params.targetNodeId : isKind(op, 'resize') ? op.params.rebuild?.targetNodeId : undefined;
    if (!target) continue;
    const node = nodes.get(target);
    const checkpoint = op.checkpoint as { ports?: PortBinding[]; draining?: boolean };
    const port = checkpoint.ports?.find((p) => p.name === 'http')?.hostPort
      ?? (target === env.nodeId ? env.ports.find((p) => p.name === 'http')?.hostPort : undefined);
    if (!node || port === undefined) return { holdMs: SWITCH_HOLD_MS };
    const next = dialAddress(node.publicHost, port);
    // Once the source is about to stop, nothing more is sent to it: requests wait for the new place.
    return checkpoint.draining ? { upstream: next, holdMs: SWITCH_HOLD_MS } : { next, holdMs: SWITCH_HOLD_MS };
  }
  return {};
}
