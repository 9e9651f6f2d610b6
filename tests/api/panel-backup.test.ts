import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';
import { backupPanel, panelBackups, panelData, restorePanel } from '../../server/services/panel-backup.js';
import { sftpHostKey } from '../../server/services/sftp-host-key.js';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/** The panel's own data: copied online, checked whole, and brought back in another data folder. */
describe('backups of the panel\'s own data', () => {
  const dirs: string[] = [];
  const panels: TestPanel[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-panel-backup-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const p of panels.splice(0)) await p.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('copies a running panel, and a new data folder restored from the copy starts as the same panel', async () => {
    const panel = await startTestPanel();
    panels.push(panel);
    const customer = await panel.api('POST', '/customers', { name: 'Kept', email: 'kept@kura.example' });
    const hostKey = sftpHostKey(panel.ctx).fingerprint;
    const into = tmp();
    // Writes go on while the copy is taken: the copy is consistent and the writes are not held up.
    const writes = Promise.all(Array.from({ length: 20 }, (_, i) => panel.api('POST', '/plans', { name: `p${i}`, cpus: 1, memoryMb: 128, diskMb: 256, pids: 64 })));
    const copy = await backupPanel(panelData(panel.ctx), into, 3);
    expect((await writes).every((r) => r.status === 201)).toBe(true);
    expect(Object.keys(copy.manifest.files)).toEqual(['kura.db', 'secret.key', 'sftp-host-key']);
    expect(copy.manifest.panelId).toBe(panel.ctx.panelId);
    expect(fs.statSync(path.join(copy.dir, 'kura.db')).mode & 0o777).toBe(0o600);

    const dataDir = path.join(tmp(), 'restored');
    restorePanel(copy.dir, dataDir);
    await panel.close();
    panels.pop();
    const back = await startTestPanel({ dataDir });
    panels.push(back);
    expect(back.ctx.panelId).toBe(copy.manifest.panelId);
    expect((await back.api('GET', `/customers/${customer.body.id}`)).body.email).toBe('kept@kura.example');
    // Sealed secrets open with the restored key: the SFTP host key customers trust is the same.
    expect(sftpHostKey(back.ctx).fingerprint).toBe(hostKey);
  });

  it('keeps the newest copies, refuses a damaged copy or an occupied folder, and writes nothing then', async () => {
    const panel = await startTestPanel();
    panels.push(panel);
    const into = tmp();
    for (let i = 0; i < 4; i++) await backupPanel(panelData(panel.ctx), into, 3);
    const copies = panelBackups(into);
    expect(copies).toHaveLength(3);
    expect(fs.readdirSync(into).filter((n) => n.startsWith('.'))).toEqual([]);

    const occupied = panel.dataDir;
    expect(() => restorePanel(copies[0]!, occupied)).toThrow(/already holds a panel database/);

    const damaged = copies[1]!;
    const db = path.join(damaged, 'kura.db');
    const bytes = fs.readFileSync(db);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    fs.writeFileSync(db, bytes);
    const target = path.join(tmp(), 'new');
    expect(() => restorePanel(damaged, target)).toThrow(/kura\.db .* is not the file the backup made/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('the command checks a copy and restores it', async () => {
    const panel = await startTestPanel();
    panels.push(panel);
    const copy = await backupPanel(panelData(panel.ctx), tmp(), 3);
    const env = { ...process.env, KURA_DATA_DIR: path.join(tmp(), 'fresh'), KURA_LOG_LEVEL: 'silent' };
    const run = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli/panel-backup.ts'), ...args],
      { cwd: ROOT, env, encoding: 'utf8' });
    expect(run('check', copy.dir)).toMatch(/whole \(taken/);
    expect(run('restore', copy.dir)).toMatch(/restored the copy taken/);
    expect(fs.existsSync(path.join(env.KURA_DATA_DIR, 'kura.db'))).toBe(true);
  });

  it('puts a failed copy, and a copy grown old, on the admin\'s dashboard', async () => {
    const panel = await startTestPanel();
    panels.push(panel);
    panel.ctx.repos.admins.insert(newId('adm'), 'ops@kura.example', await hashPassword('ops-password-1'), nowIso());
    const admin = new WebClient(panel);
    await admin.login('ops@kura.example', 'ops-password-1');
    const alert = async () => /data-testid="alert-panel-backup">(.*?)<\/li>/.exec((await admin.page('/admin')).body)?.[1] ?? null;
    panel.ctx.repos.settings.set('panel_backup_at', nowIso());
    expect(await alert()).toBeNull();
    panel.ctx.repos.settings.set('panel_backup_error', 'EACCES: permission denied, mkdir \'/mnt/backups\'');
    panel.ctx.repos.settings.set('panel_backup_failed_at', nowIso());
    expect(await alert()).toContain('EACCES: permission denied, mkdir &#x27;/mnt/backups&#x27;');
    panel.ctx.repos.settings.delete('panel_backup_error');
    panel.ctx.repos.settings.set('panel_backup_at', new Date(Date.now() - 3 * 86400_000).toISOString());
    expect(await alert()).toMatch(/No copy of the panel&#x27;s own data since \d{4}-/);
  });
});
