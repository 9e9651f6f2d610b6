import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../server/app.js';
import { ConfigError, loadConfig } from '../../server/config.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-log-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('KURA_LOG_FILE', () => {
  it('is an absolute path when set, and unset (standard output) when empty', () => {
    expect(loadConfig({ KURA_LOG_FILE: 'logs/panel.log' }).logFile).toBe(path.resolve('logs/panel.log'));
    expect(loadConfig({ KURA_LOG_FILE: '' }).logFile).toBeUndefined();
    expect(loadConfig({}).logFile).toBeUndefined();
  });

  // What the demo does: its panel logs at the default level into a file in its data dir.
  it('sends the request log to the file', async () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, 'panel.log');
    const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_LOG_FILE: file, KURA_ADMIN_TOKEN: 'log-file-admin-token-0123' });
    const { app } = await buildApp({ config, background: false });
    const res = await app.inject({ url: '/healthz', headers: { authorization: 'Bearer log-file-admin-token-0123' } });
    expect(res.statusCode).toBe(200);
    await app.close();

    // The logger writes asynchronously (and flushes when the process exits).
    const read = () => fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    await vi.waitFor(() => expect(read()).toContain('request completed'));
    const lines = read().trim().split('\n').map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string } });
    expect(lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/healthz')).toBe(true);
    expect(read()).not.toContain('log-file-admin-token-0123');
  });

  it('stops the start with a plain message when the file cannot be opened', async () => {
    const dataDir = tempDir();
    const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_LOG_FILE: path.join(dataDir, 'no-such-folder', 'panel.log') });
    const start = buildApp({ config, background: false });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/KURA_LOG_FILE: .*no-such-folder/);
  });
});
