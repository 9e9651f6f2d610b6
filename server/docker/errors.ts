import { HostPortTakenError, NodeCallError, NodeResourceMissingError, NodeUnavailableError, KuraError } from '../lib/errors.js';

interface DockerishError {
  statusCode?: number;
  code?: string;
  reason?: string;
  message?: string;
  json?: { message?: string } | null;
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the node's certificate is not signed by the given CA",
  SELF_SIGNED_CERT_IN_CHAIN: "the node's certificate chain ends in a CA other than the given one",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the node's certificate is self-signed and not the given CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the node's certificate is not signed by the given CA",
  CERT_HAS_EXPIRED: "the node's certificate has expired",
  CERT_NOT_YET_VALID: "the node's certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "the node's certificate does not name this address",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the node requires a client certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the node rejected the client certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the node does not trust the client certificate (unknown CA)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the endpoint does not speak TLS (is it a plain-HTTP Docker port?)',
  EPROTO: 'TLS handshake failed',
};

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ENOENT: 'socket not found',
  EACCES: 'permission denied on the socket',
  EPIPE: 'connection closed',
};

/** Docker's words for a published host port that something else holds (userland proxy or iptables driver). */
const PORT_TAKEN = /Bind for [^ ]*:(\d+) failed: port is already allocated|:(\d+): bind: address already in use/;
/** Docker's words when a create names an image or network the node does not have. */
const MISSING_RESOURCE = /no such image|network .*not found/i;

/** Turns whatever dockerode threw into one of the panel's errors, keeping node and call. */
export function nodeError(nodeName: string, call: string, err: unknown): KuraError {
  if (err instanceof KuraError) return err;
  const e = (err ?? {}) as DockerishError;
  if (typeof e.statusCode === 'number') {
    const reason = e.json?.message ?? e.reason ?? e.message ?? 'unknown error';
    if (e.statusCode >= 500 && /connection refused|dial unix|Cannot connect/i.test(reason)) {
      return new NodeUnavailableError(nodeName, call, reason, 'network');
    }
    const taken = PORT_TAKEN.exec(reason);
    if (taken) return new HostPortTakenError(nodeName, Number(taken[1] ?? taken[2]), reason.trim());
    if (call === 'container create' && MISSING_RESOURCE.test(reason)) return new NodeResourceMissingError(nodeName, call, reason.trim());
    return new NodeCallError(nodeName, call, e.statusCode, reason.trim());
  }
  const code = e.code ?? '';
  const tls = TLS_CODES[code];
  if (tls) return new NodeUnavailableError(nodeName, call, `TLS verification failed: ${tls} (${code})`, 'tls');
  const net = NETWORK_CODES[code];
  if (net) return new NodeUnavailableError(nodeName, call, `${net} (${code})`, 'network');
  return new NodeUnavailableError(nodeName, call, e.message ?? String(err));
}

export function isNotFound(err: unknown): boolean {
  return err instanceof NodeCallError && err.httpStatus === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof NodeCallError && err.httpStatus === 409;
}
