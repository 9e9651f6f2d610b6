import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { ROOT } from '../../config.js';

/** Static files the pages load, each from the package that ships it. */
const ASSETS: Array<{ prefix: string; root: string }> = [
  { prefix: '/assets/kura/', root: path.join(ROOT, 'public') },
  { prefix: '/assets/uplot/', root: path.join(ROOT, 'node_modules/uplot/dist') },
  { prefix: '/assets/xterm/', root: path.join(ROOT, 'node_modules/@xterm/xterm') },
  { prefix: '/assets/xterm-fit/', root: path.join(ROOT, 'node_modules/@xterm/addon-fit/lib') },
];

/**
 * The pages' assets, served beside the web panel rather than inside it: they need no
 * session, so a stylesheet or script costs no database lookup.
 */
export async function webAssets(app: FastifyInstance): Promise<void> {
  for (const a of ASSETS) {
    await app.register(fastifyStatic, { root: a.root, prefix: a.prefix, decorateReply: false, index: false, wildcard: true,
      maxAge: '1h', setHeaders: (reply) => { reply.header('x-content-type-options', 'nosniff'); } });
  }
  // Browsers ask for /favicon.ico on their own (on the API docs, on JSON): the layout's
  // icon is served there too, rather than redirected, to save them a second round trip.
  const icon = await readFile(path.join(ROOT, 'public/favicon.svg'));
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(icon));
}
