import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';
import { errorMessage } from '../lib/errors.js';
import { recoverFromNodes } from '../services/recover.js';
import type { RegisterNodeInput } from '../services/nodes.js';

const USAGE = `usage: npm run recover -- <nodes.json> [--panel-id ID]

Rebuilds a panel whose database is lost, from the containers on its nodes, into an empty
KURA_DATA_DIR. nodes.json lists the nodes as POST /api/v1/nodes takes them:
  [{"name": "node1", "endpoint": "tcp://10.0.0.11:2376", "tls": {"ca": "-----BEGIN…", "cert": "…", "key": "…"}}, …]
(tls values may also be paths to PEM files). Restore from a panel backup first if you have one:
npm run panel-backup -- restore <copy>.`;

/** A panel rebuilt from its nodes' containers when its database is gone (and no backup is). */
async function main(argv: string[]): Promise<void> {
  const file = argv.find((a) => !a.startsWith('--'));
  const at = argv.indexOf('--panel-id');
  const panelId = at >= 0 ? argv[at + 1] : undefined;
  if (!file) {
    console.log(USAGE);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig({ ...process.env, KURA_EDGE: 'off' });
  if (fs.existsSync(path.join(config.dataDir, 'kura.db'))) {
    throw new ConfigError(`${config.dataDir} already holds a panel database: recover into an empty KURA_DATA_DIR`);
  }
  const nodes = readNodes(path.resolve(file));
  const { app, ctx } = await buildApp({ config, background: false });
  try {
    const r = await recoverFromNodes(ctx, nodes, panelId ? { panelId } : {});
    console.log(`recovered panel ${r.panelId ?? '(none found)'} into ${config.dataDir}`);
    console.log(`  nodes: ${r.nodes.join(', ') || 'none'}`);
    console.log(`  environments: ${r.environments.length}${r.environments.map((e) => `\n    ${e.id} (${e.name}) on ${e.node}, ${e.state}`).join('')}`);
    console.log(`  customers: ${r.customers.length}; plans: ${r.plans.length}`);
    if (r.problems.length > 0) console.log(`could not be recovered or needs your attention:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
    console.log('start the panel with the same KURA_DATA_DIR (npm start).');
  } finally {
    await app.close();
  }
}

function readNodes(file: string): RegisterNodeInput[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file} cannot be read as JSON: ${errorMessage(err)}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(`${file} must hold a list of nodes`);
  return raw.map((n: Record<string, any>, i) => {
    if (typeof n?.name !== 'string' || typeof n?.endpoint !== 'string') throw new ConfigError(`${file}: node ${i + 1} needs a name and an endpoint`);
    const pem = (v: unknown) => (typeof v === 'string' && !v.includes('-----BEGIN') && fs.existsSync(v) ? fs.readFileSync(v, 'utf8') : String(v ?? ''));
    return { name: n.name, endpoint: n.endpoint, ...(n.tls ? { tls: { ca: pem(n.tls.ca), cert: pem(n.tls.cert), key: pem(n.tls.key) } } : {}),
      ...(typeof n.publicHost === 'string' ? { publicHost: n.publicHost } : {}) };
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`recover: ${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
  process.exit(1);
});
