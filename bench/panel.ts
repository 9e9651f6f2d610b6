import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import type { Context } from '../server/core/context.js';

export interface BenchPanel {
  app: FastifyInstance;
  ctx: Context;
  /** Calls the API over real HTTP with the admin token; a 4xx or 5xx throws with the answer. */
  api(method: string, url: string, body?: unknown): Promise<any>;
  close(): Promise<void>;
}

/** A panel for a benchmark: its own data dir, no background work, listening on a loopback port. */
export async function startBenchPanel(token: string): Promise<BenchPanel> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-'));
  const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: token, KURA_LOG_LEVEL: 'silent',
    KURA_IMAGE_CACHE: process.env.KURA_IMAGE_CACHE ?? '/var/tmp/kura-image-cache' });
  const { app, ctx } = await buildApp({ config, background: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app, ctx,
    async api(method, url, body) {
      const res = await fetch(`${address}/api/v1${url}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = await res.json() as any;
      if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async close() {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
