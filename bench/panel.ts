import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { loadConfig, ROOT } from '../server/config.js';
import type { Context } from '../server/core/context.js';

export interface BenchPanel {
  app: FastifyInstance;
  ctx: Context;
  /** Calls the API over real HTTP with the admin token; a 4xx or 5xx throws with the answer. */
  api(method: string, url: string, body?: unknown): Promise<any>;
  /** Waits (up to 2 minutes) for an operation to succeed and answers it; any other end throws with its error. */
  succeeded(operationId: string): Promise<any>;
  close(): Promise<void>;
}

/** A panel for a benchmark: its own data dir, no background work, listening on a loopback port. */
export async function startBenchPanel(token: string, env: Record<string, string> = {}): Promise<BenchPanel> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-'));
  const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: token, KURA_LOG_LEVEL: 'silent',
    KURA_IMAGE_CACHE: process.env.KURA_IMAGE_CACHE ?? '/var/tmp/kura-image-cache', KURA_EDGE: 'off', ...env });
  const { app, ctx } = await buildApp({ config, background: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const panel: BenchPanel = {
    app, ctx,
    async succeeded(operationId) {
      let op = await panel.api('GET', `/operations/${operationId}/wait?timeout=60`);
      if (op.status === 'queued' || op.status === 'running') op = await panel.api('GET', `/operations/${operationId}/wait?timeout=60`);
      if (op.status !== 'succeeded') throw new Error(`operation ${op.kind} ${op.status}: ${op.error?.message}`);
      return op;
    },
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
  return panel;
}

/**
 * The panel as its own process, started the way `npm start` starts it (package.json's flags), so
 * its RSS and CPU are the panel's alone; resolves once it answers /healthz. `cpus` pins it to
 * those CPUs (a taskset list).
 */
export async function spawnPanelProcess(o: { dataDir: string; token: string; port: number; nodeFlags?: string[]; cpus?: string; env?: Record<string, string> }): Promise<ChildProcess> {
  const command = [process.execPath, '--max-semi-space-size=4', '--max-old-space-size=256', ...(o.nodeFlags ?? []), '--import', 'tsx', path.join(ROOT, 'server/main.ts')];
  // taskset execs the panel, so the child's pid stays the panel's own.
  const [file, ...args] = o.cpus ? ['taskset', '-c', o.cpus, ...command] : command;
  const panel = spawn(file!, args, {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, KURA_DATA_DIR: o.dataDir, KURA_ADMIN_TOKEN: o.token, PORT: String(o.port), KURA_LOG_LEVEL: 'error',
      KURA_IMAGE_CACHE: process.env.KURA_IMAGE_CACHE ?? '/var/tmp/kura-image-cache', KURA_EDGE: 'off', KURA_SFTP_PORT: 'off', ...o.env },
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${o.port}/healthz`)).ok) return panel;
    } catch {
      if (i > 300) {
        panel.kill('SIGKILL');
        throw new Error('panel did not start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
