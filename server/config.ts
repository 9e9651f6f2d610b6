import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** What one caller may have: requests per second (a burst of twice that is allowed) and requests in flight. */
const RateLimit = Type.Object({
  perSecond: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  concurrent: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
});

/** The only place that reads process.env: every setting is validated here once. */
const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  dataDir: Type.String({ minLength: 1 }),
  imageCacheDir: Type.String({ minLength: 1 }),
  templatesDir: Type.String({ minLength: 1 }),
  migrationsDir: Type.String({ minLength: 1 }),
  debianMirror: Type.Optional(Type.String({ pattern: '^https?://[A-Za-z0-9.:/_-]+$' })),
  adminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  adminEmail: Type.Optional(Type.String({ minLength: 3, maxLength: 254 })),
  adminPassword: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
  trustProxy: Type.Boolean(),
  usageIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  rate: Type.Object({
    customer: RateLimit,
    admin: RateLimit,
    /** Per client address, for requests without a valid token or session. */
    anonymous: RateLimit,
    node: Type.Object({
      slots: Type.Integer({ minimum: 1, maximum: 1024 }),
      share: Type.Integer({ minimum: 1, maximum: 1024 }),
      waitMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
    }),
  }),
  logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'),
    Type.Literal('info'), Type.Literal('debug'), Type.Literal('silent')]),
  /** Where the JSON log is appended; standard output when unset. */
  logFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Every environment with an `http` port answers at a hostname under this domain, through the edge. */
  baseDomain: Type.Optional(Type.String({ maxLength: 200,
    pattern: '^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$' })),
  /** The ACME CA's directory URL (production: Let's Encrypt's); unset, the panel obtains no certificates. */
  acmeDirectory: Type.Optional(Type.String({ pattern: '^https://[^\\s]+$' })),
  /** A PEM file of extra roots to trust when talking to that CA (the tests: pebble's). */
  acmeCaFile: Type.Optional(Type.String({ minLength: 1 })),
  /** The contact address given to the CA. */
  acmeEmail: Type.Optional(Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' })),
  /** Whether the panel runs its edge proxy on every node (on unless KURA_EDGE=off). */
  edge: Type.Boolean(),
  /** DNS servers ("ip" or "ip:port") asked when checking a customer's proof of a domain; the system's when unset. */
  /** The SFTP endpoint's port on `host`; null (KURA_SFTP_PORT=off) runs none. */
  sftpPort: Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()]),
  /** The host name customers connect to for SFTP, as the panel shows it (default: HOST, or this machine's name when HOST is a wildcard). */
  sftpHost: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:\\[\\]-]+$' }),
  /** Where the panel's own database and secrets are copied (default: panel-backups in the data folder; point it at another disk). */
  panelBackupDir: Type.String({ minLength: 1 }),
  /** Hours between copies of the panel's own data; 0 takes none. */
  panelBackupHours: Type.Number({ minimum: 0, maximum: 24 * 30 }),
  /** Copies kept, newest first. */
  panelBackupKeep: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** Where environments' backups live: one restic repository per customer under this folder. */
  backupRepository: Type.String({ minLength: 1 }),
  /** Days a deleted environment's backups are kept, restorable into a new environment. */
  backupGraceDays: Type.Number({ minimum: 0, maximum: 3650 }),
  /** How often every repository is checked (restic check), in hours; 0 never. */
  backupCheckHours: Type.Number({ minimum: 0, maximum: 24 * 30 }),
  /** The networks (CIDR) the panel may connect to for imports; absent: any. With it, a source must be given as an IP address in one of them. */
  importSources: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-fA-F.:]+/\\d{1,3}$' }), { minItems: 1, maxItems: 64 })),
  dnsServers: Type.Optional(Type.Array(Type.String({ pattern: '^(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-fA-F:]+\\])(:\\d{1,5})?$' }), { minItems: 1, maxItems: 8 })),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** The project's root folder, where templates/ and migrations/ ship. */
export const ROOT = path.resolve(import.meta.dirname, '..');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.KURA_DATA_DIR || './data');
  const raw = {
    port: env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT),
    host: env.HOST || '127.0.0.1',
    dataDir,
    imageCacheDir: path.resolve(env.KURA_IMAGE_CACHE || path.join(dataDir, 'images')),
    templatesDir: path.resolve(env.KURA_TEMPLATES_DIR || path.join(ROOT, 'templates')),
    migrationsDir: path.join(ROOT, 'migrations'),
    debianMirror: env.KURA_DEBIAN_MIRROR || undefined,
    adminToken: env.KURA_ADMIN_TOKEN || undefined,
    adminEmail: env.KURA_ADMIN_EMAIL || undefined,
    adminPassword: env.KURA_ADMIN_PASSWORD || undefined,
    logLevel: env.KURA_LOG_LEVEL || 'info',
    logFile: env.KURA_LOG_FILE ? path.resolve(env.KURA_LOG_FILE) : undefined,
    baseDomain: env.KURA_BASE_DOMAIN ? env.KURA_BASE_DOMAIN.toLowerCase().replace(/\.$/, '') : undefined,
    acmeDirectory: env.KURA_ACME_DIRECTORY || undefined,
    acmeCaFile: env.KURA_ACME_CA_FILE ? path.resolve(env.KURA_ACME_CA_FILE) : undefined,
    acmeEmail: env.KURA_ACME_EMAIL || undefined,
    importSources: env.KURA_IMPORT_SOURCES ? env.KURA_IMPORT_SOURCES.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    dnsServers: env.KURA_DNS_SERVERS ? env.KURA_DNS_SERVERS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    panelBackupDir: path.resolve(env.KURA_PANEL_BACKUP_DIR || path.join(dataDir, 'panel-backups')),
    panelBackupHours: number(env.KURA_PANEL_BACKUP_HOURS, 24),
    panelBackupKeep: number(env.KURA_PANEL_BACKUP_KEEP, 14),
    backupRepository: path.resolve(env.KURA_BACKUP_REPOSITORY || path.join(dataDir, 'backups')),
    backupGraceDays: number(env.KURA_BACKUP_GRACE_DAYS, 7),
    backupCheckHours: number(env.KURA_BACKUP_CHECK_HOURS, 24),
    sftpPort: env.KURA_SFTP_PORT === 'off' ? null : number(env.KURA_SFTP_PORT, 2222),
    sftpHost: env.KURA_SFTP_HOST || (['0.0.0.0', '::', '[::]'].includes(env.HOST ?? '') ? os.hostname() : env.HOST || '127.0.0.1'),
    edge: env.KURA_EDGE === undefined || env.KURA_EDGE === '' || env.KURA_EDGE === 'on' ? true : env.KURA_EDGE === 'off' ? false : (env.KURA_EDGE as unknown as boolean),
    trustProxy: env.KURA_TRUST_PROXY === undefined || env.KURA_TRUST_PROXY === '' ? false
      : env.KURA_TRUST_PROXY === 'true' ? true : env.KURA_TRUST_PROXY === 'false' ? false : env.KURA_TRUST_PROXY,
    usageIntervalSeconds: number(env.KURA_USAGE_INTERVAL, 60),
    rate: {
      customer: { perSecond: number(env.KURA_RATE_CUSTOMER_PER_SECOND, 50), concurrent: number(env.KURA_RATE_CUSTOMER_CONCURRENT, 32) },
      admin: { perSecond: number(env.KURA_RATE_ADMIN_PER_SECOND, 500), concurrent: number(env.KURA_RATE_ADMIN_CONCURRENT, 256) },
      anonymous: { perSecond: number(env.KURA_RATE_ANONYMOUS_PER_SECOND, 20), concurrent: number(env.KURA_RATE_ANONYMOUS_CONCURRENT, 16) },
      node: { slots: number(env.KURA_RATE_NODE_CALLS, 32), share: number(env.KURA_RATE_NODE_SHARE, 4),
        waitMs: Math.round(number(env.KURA_RATE_NODE_WAIT, 3) * 1000) },
    },
  };
  const problems = [...Value.Errors(ConfigSchema, raw)].map((e) => `${settingName(e.path)}: ${e.message}`);
  if ((raw.adminEmail === undefined) !== (raw.adminPassword === undefined)) {
    problems.push('KURA_ADMIN_EMAIL and KURA_ADMIN_PASSWORD must be set together');
  }
  if (raw.rate.node.share > raw.rate.node.slots) problems.push('KURA_RATE_NODE_SHARE cannot be more than KURA_RATE_NODE_CALLS');
  if (raw.acmeCaFile && !fs.existsSync(raw.acmeCaFile)) problems.push(`KURA_ACME_CA_FILE: ${raw.acmeCaFile} does not exist`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Value.Clean(ConfigSchema, raw) as Config;
}

const ENV_NAMES: Record<string, string> = {
  '/port': 'PORT', '/host': 'HOST', '/dataDir': 'KURA_DATA_DIR', '/imageCacheDir': 'KURA_IMAGE_CACHE',
  '/adminToken': 'KURA_ADMIN_TOKEN (at least 16 characters)', '/adminEmail': 'KURA_ADMIN_EMAIL',
  '/templatesDir': 'KURA_TEMPLATES_DIR', '/debianMirror': 'KURA_DEBIAN_MIRROR',
  '/adminPassword': 'KURA_ADMIN_PASSWORD (at least 8 characters)', '/logLevel': 'KURA_LOG_LEVEL', '/logFile': 'KURA_LOG_FILE',
  '/trustProxy': 'KURA_TRUST_PROXY (true or false)', '/baseDomain': 'KURA_BASE_DOMAIN (a DNS name such as sites.example.net)',
  '/edge': 'KURA_EDGE (on or off)', '/sftpPort': 'KURA_SFTP_PORT (1-65535, or off)', '/sftpHost': 'KURA_SFTP_HOST (a host name)',
  '/panelBackupDir': 'KURA_PANEL_BACKUP_DIR', '/panelBackupHours': 'KURA_PANEL_BACKUP_HOURS (0-720)', '/panelBackupKeep': 'KURA_PANEL_BACKUP_KEEP (1-1000)', '/backupRepository': 'KURA_BACKUP_REPOSITORY', '/backupGraceDays': 'KURA_BACKUP_GRACE_DAYS (0-3650)', '/backupCheckHours': 'KURA_BACKUP_CHECK_HOURS (0-720)', '/importSources': 'KURA_IMPORT_SOURCES (comma-separated CIDRs)', '/acmeDirectory': 'KURA_ACME_DIRECTORY (an https:// URL)', '/acmeCaFile': 'KURA_ACME_CA_FILE',
  '/acmeEmail': 'KURA_ACME_EMAIL (an email address)', '/dnsServers': 'KURA_DNS_SERVERS (comma-separated ip or ip:port)', '/usageIntervalSeconds': 'KURA_USAGE_INTERVAL (seconds, 1-3600)',
  '/rate/customer/perSecond': 'KURA_RATE_CUSTOMER_PER_SECOND', '/rate/customer/concurrent': 'KURA_RATE_CUSTOMER_CONCURRENT',
  '/rate/admin/perSecond': 'KURA_RATE_ADMIN_PER_SECOND', '/rate/admin/concurrent': 'KURA_RATE_ADMIN_CONCURRENT',
  '/rate/anonymous/perSecond': 'KURA_RATE_ANONYMOUS_PER_SECOND', '/rate/anonymous/concurrent': 'KURA_RATE_ANONYMOUS_CONCURRENT',
  '/rate/node/slots': 'KURA_RATE_NODE_CALLS (1-1024)', '/rate/node/share': 'KURA_RATE_NODE_SHARE (1-1024)',
  '/rate/node/waitMs': 'KURA_RATE_NODE_WAIT (seconds, 0.1-60)',
};
/** A number setting: its default when unset or empty; anything not a number fails the schema with the setting named. */
function number(value: string | undefined, fallback: number): number {
  return value === undefined || value === '' ? fallback : Number(value);
}

function settingName(p: string): string {
  return ENV_NAMES[p] ?? ENV_NAMES[p.replace(/\/\d+$/, '')] ?? p;
}
