import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { UpdateBus } from '../core/updates.js';
import { maySee } from '../domain/access.js';
import type { Principal } from '../domain/types.js';
import { streamLimits, type Credential, type EndReason, type StreamRegistry, type StreamSlot } from './streams.js';

/** Keep-alive comments for proxies. */
const KEEP_ALIVE_MS = 15_000;
/** How long an ended stream may take to flush before its connection is dropped. */
const FLUSH_MS = 2_000;

/** A Server-Sent Events response taken over from fastify and tied to its stream slot. */
export interface EventStream {
  /** Writes one named event with JSON data; false once the client's socket is full (see `onDrain`). */
  send(event: string, data: unknown, id?: number): boolean;
  comment(text: string): boolean;
  /** Bytes written that the client has not taken yet. */
  backlog(): number;
  /** Runs `fn` each time a full socket has room again. */
  onDrain(fn: () => void): void;
}

/**
 * Takes a stream slot for the request (see StreamRegistry.take: refused past `cap` per
 * credential) and ends it when the client goes away, however it goes. Call it before the
 * route awaits anything: a client that hangs up while the route waits on a node then
 * still frees its place.
 */
export function takeStream(streams: StreamRegistry, reply: FastifyReply, kind: string, cap: number, credential: Credential, what: string): StreamSlot {
  const slot = streams.take(kind, cap, credential, what);
  const res = reply.raw;
  if (res.destroyed) {
    slot.end('client');
    return slot;
  }
  res.on('close', () => slot.end('client'));
  res.on('error', () => slot.end('client'));
  return slot;
}

/**
 * Takes the response over and starts the event stream. The slot ending (credential
 * ended, source ended, panel closing, client too slow) ends the response; a socket that
 * stays full for `streamLimits.stallMs` ends the slot. Null when the slot has ended
 * already (the client left, or the credential ended, while the route waited).
 */
export function openEventStream(reply: FastifyReply, slot: StreamSlot, opts: { retryMs?: number } = {}): EventStream | null {
  reply.hijack();
  const res = reply.raw;
  if (slot.ended) {
    res.destroy();
    return null;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
    // A stream's connection is not reused: when the stream ends, so does the connection.
    connection: 'close',
  });
  let stall: NodeJS.Timeout | null = null;
  const drains: Array<() => void> = [];
  const write = (text: string): boolean => {
    if (slot.ended) return false;
    if (res.write(text)) return true;
    stall ??= setTimeout(() => slot.end('stalled'), streamLimits.stallMs).unref();
    return false;
  };
  res.on('drain', () => {
    if (stall) clearTimeout(stall);
    stall = null;
    for (const fn of drains) fn();
  });
  const keepAlive = setInterval(() => {
    // A full socket needs no keep-alive, and gets nothing more added.
    if (res.writableLength === 0) write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  slot.onEnd((reason) => {
    clearInterval(keepAlive);
    if (stall) clearTimeout(stall);
    finish(res, reason);
  });
  if (opts.retryMs !== undefined) write(`retry: ${opts.retryMs}\n`);
  return {
    send: (event, data, id) => write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
    backlog: () => res.writableLength,
    onDrain: (fn) => void drains.push(fn),
  };
}

/**
 * Relays the update bus to a stream: what `who` may see, as they may read it. The bus
 * cannot wait for one client, so a client more than `streamLimits.backlogBytes` behind is
 * cut off (its browser reconnects and is brought up to date) instead of buffered for.
 */
export function relayUpdates(updates: UpdateBus, sse: EventStream, slot: StreamSlot, who: Principal, opts: { ids?: boolean } = {}): void {
  let seq = 0;
  const unsubscribe = updates.subscribe((event) => {
    if (!maySee(who, event.customerId)) return;
    if (sse.backlog() > streamLimits.backlogBytes) return slot.end('behind');
    // A customer reads the customer's view (errors without node names or Docker's words), when the update has one.
    const data = who.kind === 'customer' ? event.customerData ?? event.data : event.data;
    sse.send(event.type, data, opts.ids ? ++seq : undefined);
  });
  slot.onEnd(unsubscribe);
}

/** A stream that ended on the panel's side closes cleanly; one whose client cannot keep up is dropped with its buffer. */
function finish(res: ServerResponse, reason: EndReason): void {
  if (reason === 'client' || reason === 'stalled' || reason === 'behind') {
    res.destroy();
    return;
  }
  res.end();
  if (!res.writableFinished) setTimeout(() => res.destroy(), FLUSH_MS).unref();
}
