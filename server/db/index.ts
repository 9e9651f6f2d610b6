import type { Db } from './connection.js';
import { nodesRepo } from './repos/nodes.js';
import { plansRepo } from './repos/plans.js';
import { customersRepo } from './repos/customers.js';
import { tokensRepo } from './repos/tokens.js';
import { environmentsRepo } from './repos/environments.js';
import { operationsRepo } from './repos/operations.js';
import { idempotencyRepo } from './repos/idempotency.js';
import { historyRepo } from './repos/environment-history.js';
import { sessionsRepo } from './repos/sessions.js';
import { invitesRepo } from './repos/invites.js';
import { adminsRepo } from './repos/admins.js';
import { auditRepo } from './repos/audit.js';
import { fleetOverviewRepo } from './repos/fleet-overview.js';
import { usageRepo } from './repos/usage.js';
import { domainsRepo } from './repos/domains.js';
import { sshKeysRepo } from './repos/ssh-keys.js';
import { backupsRepo } from './repos/backups.js';

export interface Repos {
  db: Db;
  nodes: ReturnType<typeof nodesRepo>;
  plans: ReturnType<typeof plansRepo>;
  customers: ReturnType<typeof customersRepo>;
  tokens: ReturnType<typeof tokensRepo>;
  environments: ReturnType<typeof environmentsRepo>;
  operations: ReturnType<typeof operationsRepo>;
  idempotency: ReturnType<typeof idempotencyRepo>;
  history: ReturnType<typeof historyRepo>;
  sessions: ReturnType<typeof sessionsRepo>;
  invites: ReturnType<typeof invitesRepo>;
  admins: ReturnType<typeof adminsRepo>;
  audit: ReturnType<typeof auditRepo>;
  fleetOverview: ReturnType<typeof fleetOverviewRepo>;
  usage: ReturnType<typeof usageRepo>;
  domains: ReturnType<typeof domainsRepo>;
  sshKeys: ReturnType<typeof sshKeysRepo>;
  backups: ReturnType<typeof backupsRepo>;
  settings: { get(key: string): string | undefined; set(key: string, value: string): void; delete(key: string): void };
}

/** Every repository over one connection; statements are prepared once, here. */
export function repos(db: Db): Repos {
  const getSetting = db.prepare('SELECT value FROM settings WHERE key = ?');
  const setSetting = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const deleteSetting = db.prepare('DELETE FROM settings WHERE key = ?');
  return {
    db,
    nodes: nodesRepo(db),
    plans: plansRepo(db),
    customers: customersRepo(db),
    tokens: tokensRepo(db),
    environments: environmentsRepo(db),
    operations: operationsRepo(db),
    idempotency: idempotencyRepo(db),
    history: historyRepo(db),
    sessions: sessionsRepo(db),
    invites: invitesRepo(db),
    admins: adminsRepo(db),
    audit: auditRepo(db),
    fleetOverview: fleetOverviewRepo(db),
    usage: usageRepo(db),
    domains: domainsRepo(db),
    sshKeys: sshKeysRepo(db),
    backups: backupsRepo(db),
    settings: {
      get: (key) => (getSetting.get(key) as { value: string } | undefined)?.value,
      set: (key, value) => void setSetting.run(key, value),
      delete: (key) => void deleteSetting.run(key),
    },
  };
}
