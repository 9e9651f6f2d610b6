import { hashPassword, hashToken, verifyPassword } from '../lib/secrets.js';
import { newId, nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';

/**
 * Makes the accounts named by the settings exist: the KURA_ADMIN_TOKEN admin token
 * (replacing an earlier one from the same setting) and the admin web login.
 */
export async function bootstrapAccounts(ctx: Context): Promise<void> {
  const { config, repos } = ctx;
  repos.tokens.syncEnvAdmin(config.adminToken ? hashToken(config.adminToken) : null, newId('tok'));
  if (config.adminEmail && config.adminPassword) {
    const row = repos.admins.byEmail(config.adminEmail);
    if (!row) {
      repos.admins.insert(newId('adm'), config.adminEmail, await hashPassword(config.adminPassword), nowIso());
    } else if (!(await verifyPassword(config.adminPassword, row.passwordHash))) {
      repos.admins.setPassword(row.id, await hashPassword(config.adminPassword));
    }
  }
}
