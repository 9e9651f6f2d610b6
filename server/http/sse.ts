import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/** A Server-Sent Events response taken over from fastify; `send` writes one named event with JSON data. */
export interface EventStream {
  res: ServerResponse;
  send(event: string, data: unknown): void;
  comment(text: string): void;
}

export function openEventStream(reply: FastifyReply, opts: { retryMs?: number } = {}): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  if (opts.retryMs !== undefined) res.write(`retry: ${opts.retryMs}\n`);
  return {
    res,
    send: (event, data) => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => void res.write(`: ${text}\n\n`),
  };
}
