import { hashPassword, hashToken, verifyPassword } from '../lib/secrets.js';
import { newId, nowIso } from '../lib/ids.js';
import type { Context } from './context.js';

/**
 * Makes the accounts named by the settings exist: the KURA_ADMIN_TOKEN admin token
 * (replacing an earlier one from the same setting) and the admin web login.
 */
export async function bootstrapAccounts(ctx: Context): Promise<void> {
  const { config, repos } = ctx;
  repos.tokens.syncEnvAdmin(config.adminToken ? hashToken(config.adminToken) : null, newId('tok'));
  if (config.adminEmail && config.adminPassword) {
    const row = repos.db.prepare('SELECT id, password_hash FROM admins WHERE email = ?').get(config.adminEmail) as
      { id: string; password_hash: string } | undefined;
    if (!row) {
      repos.db.prepare('INSERT INTO admins (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(newId('adm'), config.adminEmail, await hashPassword(config.adminPassword), nowIso());
    } else if (!(await verifyPassword(config.adminPassword, row.password_hash))) {
      repos.db.prepare('UPDATE admins SET password_hash = ? WHERE id = ?').run(await hashPassword(config.adminPassword), row.id);
    }
  }
}
