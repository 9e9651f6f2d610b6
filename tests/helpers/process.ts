import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../server/config.js';
import { ADMIN_TOKEN, IMAGE_CACHE } from './panel.js';

export interface PanelProcess {
  url: string;
  child: ChildProcess;
  api(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The panel as a separate process (npm start's entry point), so a test can SIGKILL it. */
export async function spawnPanel(dataDir: string, port: number): Promise<PanelProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: ADMIN_TOKEN, PORT: String(port), HOST: '127.0.0.1',
      KURA_LOG_LEVEL: 'warn', KURA_IMAGE_CACHE: IMAGE_CACHE, KURA_EDGE: 'off', KURA_SFTP_PORT: 'off' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`panel exited at start: ${stderr}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`panel did not answer /healthz: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, child,
    async api(method, p, body, token = ADMIN_TOKEN) {
      const res = await fetch(`${url}/api/v1${p}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    kill(signal = 'SIGKILL') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
