import { isIP } from 'node:net';

/** Where the edge's control socket lives inside its container: no network reaches it, only `docker exec`. */
export const EDGE_ADMIN_SOCKET = '/var/lib/kura-edge/admin.sock';
/** Where the panel puts the edge's configuration inside its container. */
export const EDGE_CONFIG_DIR = '/etc/kura-edge';
export const EDGE_CONFIG_FILE = `${EDGE_CONFIG_DIR}/caddy.json`;

export type EdgeStatus = { status: 'running' | 'starting' | 'error'; message?: string };

/** One host name the edge serves, and where it sends the requests: "host:port" of the environment's http port. */
export interface EdgeRoute {
  host: string;
  upstream: string;
  /**
   * While the environment moves or is rebuilt: where it will run (tried when `upstream` refuses),
   * and how long a request waits for either to answer instead of failing.
   */
  next?: string;
  holdMs?: number;
  /** The environment is stopped by its owner: a plain 503 says so instead of a proxy error. */
  stopped?: boolean;
  /** The name's certificate (chain, leaf first) and key: with one, the name is served over HTTPS and HTTP redirects there. */
  tls?: { certPem: string; keyPem: string };
}

/** An HTTP-01 answer a CA fetches while validating a name: the same on every edge, since DNS may point at any. */
export interface EdgeChallenge {
  host: string;
  token: string;
  keyAuthorization: string;
}

/** "host:port" as a proxy dials it: an IPv6 address in brackets. */
export function dialAddress(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The answer to a host name the edge does not serve: it names nobody. */
export const UNKNOWN_HOST_BODY = 'Not found\n';
/** The answer for a site whose environment is stopped. */
export const STOPPED_BODY = 'This site is not running right now.\n';

const NOT_FOUND = { handle: [{ handler: 'static_response', status_code: 404, headers: { 'Content-Type': ['text/plain; charset=utf-8'] }, body: UNKNOWN_HOST_BODY }] };

/**
 * The edge's whole configuration (Caddy's JSON), from the fleet's routes: HTTP on port 80 of
 * the node's public address, a route per host name to its environment, and a plain 404 for
 * any other name. Names with a certificate are served on 443 too (chosen by SNI), and their
 * HTTP requests are redirected there, except a CA's HTTP-01 challenges, which every edge
 * answers on 80. The control socket is a file inside the container, and Caddy keeps the
 * last configuration it was given, so a restarted edge serves the same routes at once.
 */
export function edgeConfig(publicHost: string, routes: readonly EdgeRoute[], challenges: readonly EdgeChallenge[] = []): object {
  const on = (port: number) => (isIP(publicHost) ? dialAddress(publicHost, port) : `:${port}`);
  const sorted = [...routes].sort((a, b) => a.host.localeCompare(b.host));
  const stopped = (r: EdgeRoute) => ({ match: [{ host: [r.host] }], terminal: true,
    handle: [{ handler: 'static_response', status_code: 503, headers: { 'Content-Type': ['text/plain; charset=utf-8'], 'Retry-After': ['60'] }, body: STOPPED_BODY }] });
  const proxy = (r: EdgeRoute): object => (r.stopped ? stopped(r) : { match: [{ host: [r.host] }], terminal: true, handle: [{
    handler: 'reverse_proxy', upstreams: [r.upstream, ...(r.next && r.next !== r.upstream ? [r.next] : [])].map((dial) => ({ dial })),
    // During a switch a request is held, trying the old place first and then the new, until one answers.
    ...(r.holdMs ? { load_balancing: { selection_policy: { policy: 'first' }, try_duration: `${r.holdMs}ms`, try_interval: '100ms' } } : {}),
  }] });
  const redirect = (r: EdgeRoute) => ({ match: [{ host: [r.host] }], terminal: true,
    handle: [{ handler: 'static_response', status_code: 308, headers: { Location: ['https://{http.request.host}{http.request.uri}'] } }] });
  const secure = sorted.filter((r) => r.tls);
  const servers: Record<string, object> = {
    http: {
      listen: [on(80)],
      automatic_https: { disable: true },
      routes: [
        ...[...challenges].sort((a, b) => a.token.localeCompare(b.token)).map((c) => ({
          match: [{ host: [c.host], path: [`/.well-known/acme-challenge/${c.token}`] }], terminal: true,
          handle: [{ handler: 'static_response', status_code: 200, headers: { 'Content-Type': ['text/plain'] }, body: c.keyAuthorization }],
        })),
        ...sorted.map((r) => (r.tls ? redirect(r) : proxy(r))),
        NOT_FOUND,
      ],
    },
  };
  if (secure.length > 0) {
    servers.https = { listen: [on(443)], automatic_https: { disable: true }, tls_connection_policies: [{}], routes: [...secure.map(proxy), NOT_FOUND] };
  }
  return {
    admin: { listen: `unix/${EDGE_ADMIN_SOCKET}`, config: { persist: true } },
    logging: { logs: { default: { level: 'WARN' } } },
    apps: {
      http: { http_port: 80, https_port: 443, servers },
      ...(secure.length > 0 ? { tls: { certificates: { load_pem: secure.map((r) => ({ certificate: r.tls!.certPem, key: r.tls!.keyPem, tags: [r.host] })) } } } : {}),
    },
  };
}

/** What a new edge starts with, until the panel gives it the fleet's routes: its control socket, nothing served. */
export function edgeBootConfig(): object {
  return { admin: { listen: `unix/${EDGE_ADMIN_SOCKET}`, config: { persist: true } } };
}

const MAX_LABEL = 63;
const SHORT_ID = 8;

/**
 * The first label of an environment's default hostname: its name and the end of its id
 * ("shop-7k2m9x4q"), within DNS's 63 characters. `attempt` > 0 gives another, for the
 * rare label already issued to someone else (labels are never reused).
 */
export function hostnameLabel(name: string, id: string, attempt = 0): string {
  const suffix = attempt === 0 ? id.slice(-SHORT_ID) : `${id.slice(-SHORT_ID)}${attempt}`;
  const head = name.slice(0, MAX_LABEL - suffix.length - 1).replace(/-+$/, '');
  return `${head}-${suffix}`.toLowerCase();
}
