import http from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import { BadRequestError } from '../lib/errors.js';

/** Where and how to reach one node's Docker engine. */
export interface NodeConnection {
  name: string;
  endpoint: string;
  tls?: { ca: string; cert: string; key: string } | undefined;
}

/** Parses `tcp://host:port` or `unix:///path`; anything else is refused. */
export function parseEndpoint(endpoint: string): { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } {
  const unix = /^unix:\/\/(\/[A-Za-z0-9._/-]+)$/.exec(endpoint);
  if (unix?.[1]) return { kind: 'unix', path: unix[1] };
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(endpoint);
  if (tcp?.[1] && tcp[2] && Number(tcp[2]) > 0 && Number(tcp[2]) < 65536) {
    return { kind: 'tcp', host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  }
  throw new BadRequestError('endpoint must be unix:///path/to/docker.sock or tcp://host:port', { field: 'endpoint' });
}

/**
 * A Docker client with a connection pool of its own; `timeout` ends a connection that
 * stays silent that long (0: never). Its agent never queues a request (maxSockets is
 * unbounded): time spent waiting for a socket would eat the call's deadline and be taken
 * for the node failing. Short calls are bounded by the node's gate instead, long-lived
 * ones by their own caps.
 */
export function dockerClient(conn: NodeConnection, timeout: number): Docker {
  const ep = parseEndpoint(conn.endpoint);
  if (ep.kind === 'unix') {
    return new Docker({ socketPath: ep.path, timeout, agent: briefly(new http.Agent({ keepAlive: true })) } as Docker.DockerOptions);
  }
  const tls = conn.tls;
  const agent = briefly(tls
    ? new https.Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key })
    : new http.Agent({ keepAlive: true }));
  return new Docker({
    host: ep.host, port: ep.port, protocol: tls ? 'https' : 'http', timeout,
    ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}), agent,
  } as Docker.DockerOptions);
}

/**
 * docker-modem formats every request's options for its debug log (util.inspect with
 * hidden properties and no depth limit) whether or not the log is on. The agent is among
 * those options, and walking it means walking every pooled TLS socket: tens of
 * milliseconds per call with a few dozen connections, on the event loop that answers
 * everyone. The agent therefore describes itself in one short line.
 */
function briefly<T extends http.Agent>(agent: T): T {
  Object.defineProperty(agent, inspect.custom, { value: () => `[${agent.constructor.name}]` });
  return agent;
}
