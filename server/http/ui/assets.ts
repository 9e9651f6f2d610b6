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
}
