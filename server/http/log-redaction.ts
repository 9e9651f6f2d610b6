import type { FastifyRequest } from 'fastify';

/** Query parameters whose value is a secret wherever they appear. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'invite', 'key', 'password', 'secret', 'code', 'ticket']);
/** A one-time invite token in a path, plain or percent-encoded inside another parameter (`next=%2Finvite%2F...`). */
const INVITE_PATH = /(\/|%2F)invite(\/|%2F)[^/?#&%]+/gi;

export const REDACTED = '[redacted]';

/**
 * The request URL as the log may keep it: invite links are one-time secrets (whoever reads
 * the log could take the account over), so their token and any secret-named query value
 * is replaced before the line is written.
 */
export function redactUrl(url: string): string {
  const withoutPaths = url.replace(INVITE_PATH, (_m, a: string, b: string) => `${a}invite${b}${REDACTED}`);
  const q = withoutPaths.indexOf('?');
  if (q < 0) return withoutPaths;
  const query = withoutPaths.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // A name that is not valid percent-encoding is matched as it is.
    }
    return eq >= 0 && SECRET_PARAMS.has(decoded.toLowerCase()) ? `${name}=${REDACTED}` : pair;
  });
  return `${withoutPaths.slice(0, q)}?${query.join('&')}`;
}

/** fastify's request serializer, with the URL redacted. */
export function requestLogSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method, url: redactUrl(request.url), version: request.headers['accept-version'],
    host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort,
  };
}
