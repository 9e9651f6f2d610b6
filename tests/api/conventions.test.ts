import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { verifyPassword } from '../../server/lib/secrets.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

describe('API conventions without nodes', () => {
  let panel: TestPanel;
  beforeAll(async () => {
    panel = await startTestPanel();
  });
  afterAll(async () => panel.close());

  it('pages lists with limit and nextCursor, in creation order, without gaps or repeats', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await panel.api('POST', '/plans', { name: `page-${i}`, cpus: 1, memoryMb: 64, diskMb: 64, pids: 16 });
      made.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await panel.api('GET', `/plans?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(made);
    expect(pages).toBe(3);
    const all = await panel.api('GET', '/plans');
    expect(all.body.items).toHaveLength(7);
    expect(all.body.nextCursor).toBeNull();
  });

  it('answers 404 in the error shape for unknown routes and ids', async () => {
    const a = await panel.api('GET', '/nope');
    expect(a.status).toBe(404);
    expect(a.body.error.code).toBe('not_found');
    const b = await panel.api('GET', '/plans/plan_00000000000000000000');
    expect(b.status).toBe(404);
    expect(b.body.error.message).toMatch(/plan plan_00000000000000000000 not found/);
  });

  it('keeps plan bounds: cpus > 0, memoryMb >= 16, diskMb >= 64, pids >= 16, swapMb >= 0', async () => {
    for (const bad of [{ cpus: 0 }, { memoryMb: 15 }, { diskMb: 63 }, { pids: 15 }, { swapMb: -1 }]) {
      const res = await panel.api('POST', '/plans', { name: 'b', cpus: 1, memoryMb: 64, diskMb: 64, pids: 16, ...bad });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe(Object.keys(bad)[0]);
    }
  });

  it('bootstraps the admin token and the admin web login from the settings, hashed', async () => {
    const dataDir = `${panel.dataDir}-boot`;
    const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: 'first-admin-token-xyz', KURA_ADMIN_EMAIL: 'ops@example.com',
      KURA_ADMIN_PASSWORD: 'correct horse', KURA_LOG_LEVEL: 'silent' });
    const one = await buildApp({ config, background: false });
    const admin = one.ctx.repos.db.prepare('SELECT password_hash FROM admins WHERE email = ?').get('ops@example.com') as { password_hash: string };
    expect(admin.password_hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('correct horse', admin.password_hash)).toBe(true);
    const ok = await one.app.inject({ url: '/api/v1/plans', headers: { authorization: 'Bearer first-admin-token-xyz' } });
    expect(ok.statusCode).toBe(200);
    expect(JSON.stringify(one.ctx.repos.db.prepare('SELECT * FROM tokens').all())).not.toContain('first-admin-token-xyz');
    await one.app.close();
    // A changed setting replaces the old token.
    const two = await buildApp({ config: { ...config, adminToken: 'second-admin-token-xyz' }, background: false });
    expect((await two.app.inject({ url: '/api/v1/plans', headers: { authorization: 'Bearer first-admin-token-xyz' } })).statusCode).toBe(401);
    expect((await two.app.inject({ url: '/api/v1/plans', headers: { authorization: 'Bearer second-admin-token-xyz' } })).statusCode).toBe(200);
    await two.app.close();
    expect((fs.statSync(`${dataDir}/secret.key`).mode & 0o777).toString(8)).toBe('600');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
