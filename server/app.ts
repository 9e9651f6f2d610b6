import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';
import fastifyView from '@fastify/view';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConfigError, type Config } from './config.js';
import { openDatabase, type Db } from './db/connection.js';
import { migrate, readMigrations } from './db/migrate.js';
import { repos as makeRepos } from './db/index.js';
import { NodeRegistry, type NodeConnection, type Nodes } from './docker/registry.js';
import { loadSecretBox } from './lib/secrets.js';
import { newId } from './lib/ids.js';
import { OperationRunner } from './operations/runner.js';
import { operationHandlers } from './operations/handlers/index.js';
import { loadTemplates, withCaptured } from './templates/catalog.js';
import { templateImages } from './templates/image-builder.js';
import { UpdateBus } from './core/updates.js';
import type { Context } from './core/context.js';
import { bootstrapAccounts } from './services/bootstrap.js';
import { closeFileAgents } from './services/files.js';
import { startFleetWatch } from './loops/fleet-watch.js';
import { startEdges, type Edges } from './loops/edge.js';
import { startDomainChecks } from './loops/domain-checks.js';
import { startPanelBackups } from './loops/panel-backup.js';
import { startBackupLoop } from './loops/backups.js';
import { startCertificates } from './loops/certificates.js';
import { startUsageSampler, type UsageSampler } from './loops/usage-sampler.js';
import { createMetrics } from './core/metrics.js';
import { authenticate } from './services/auth.js';
import { errorMessage, ForbiddenError, NotFoundError } from './lib/errors.js';
import { frameworkErrors, registerErrorHandling } from './http/errors.js';
import { registerBodyRules } from './http/body.js';
import { registerOpenApi } from './http/openapi.js';
import { validatorCompiler } from './http/validation.js';
import { ErrorResponse } from './http/api/schemas.js';
import { apiV1 } from './http/api/index.js';
import { RequestLimits } from './http/rate-limit.js';
import { webUi } from './http/ui/index.js';
import { webAssets } from './http/ui/assets.js';
import { loadLocales } from './http/ui/i18n.js';
import { viewEngine } from './http/ui/view-engine.js';
import { requestLogSerializer } from './http/log-redaction.js';
import { ROOT } from './config.js';

export interface AppDeps {
  config: Config;
  /** An already-open database (tests pass ':memory:'); by default the data dir's kura.db. */
  db?: Db;
  /** Skip the background node health beat and start-up reconcile (unit tests). */
  background?: boolean;
  /** The nodes' clients; by default real Docker clients built from the registered nodes (unit tests pass fakes). */
  nodes?: (connectionOf: (nodeId: string) => NodeConnection) => Nodes;
}

/** Wires the panel in one visible order: storage, services, then HTTP. */
export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; ctx: Context }> {
  const { config } = deps;
  const logger = loggerOptions(config);
  const db = deps.db ?? openDatabase(path.join(config.dataDir, 'kura.db'));
  migrate(db, readMigrations(config.migrationsDir));
  const repos = makeRepos(db);
  const secrets = loadSecretBox(config.dataDir);
  const templates = withCaptured(loadTemplates(config.templatesDir), path.join(config.dataDir, 'templates'));

  const app = Fastify({
    logger,
    bodyLimit: 1024 * 1024,
    frameworkErrors,
    trustProxy: config.trustProxy,
  }).withTypeProvider<TypeBoxTypeProvider>();
  const log = app.log;

  let panelId = repos.settings.get('panel_id');
  if (!panelId) {
    panelId = newId('pnl');
    repos.settings.set('panel_id', panelId);
  }
  const updates = new UpdateBus((err) => log.error({ err: errorMessage(err) }, 'an update listener failed'));
  const metrics = createMetrics(repos, updates);
  const connectionOf = (nodeId: string): NodeConnection => {
    const c = repos.nodes.connection(nodeId);
    if (!c) throw new NotFoundError('node', nodeId);
    return { name: c.name, endpoint: c.endpoint,
      tls: c.ca && c.cert && c.keySealed ? { ca: c.ca, cert: c.cert, key: secrets.open(c.keySealed) } : undefined };
  };
  const nodes = deps.nodes ? deps.nodes(connectionOf) : new NodeRegistry(connectionOf, metrics.dockerCall, config.rate.node);
  // The runner's handlers take the context, so the context is completed with the runner just below.
  const ctx = {
    config, repos, templates, secrets, nodes, updates, log, metrics, panelId, known: new Set<string>(), edges: new Map(),
    images: templateImages({ cacheDir: config.imageCacheDir, debianMirror: config.debianMirror, log: (line) => log.info(line) }),
  } as Omit<Context, 'operations'> as Context;
  const runner = new OperationRunner(repos, updates, operationHandlers(ctx), log);
  ctx.operations = runner;
  await bootstrapAccounts(ctx);

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app, () => repos.nodes.names());
  registerBodyRules(app);
  app.addSchema(ErrorResponse);
  await registerOpenApi(app);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  const i18n = loadLocales(path.join(ROOT, 'locales'));
  await app.register(fastifyView, { engine: { handlebars: viewEngine(path.join(ROOT, 'views'), i18n) }, root: path.join(ROOT, 'views'),
    layout: 'layouts/main.hbs', production: true });
  await app.register(webAssets);
  // One limiter for the API and the web panel; each token, web session and client address is a caller of its own.
  const limits = new RequestLimits(config.rate);
  await app.register(webUi(ctx, i18n, limits));
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  // Prometheus scrapes with the admin token (bearer_token in its scrape config): fleet figures are not public.
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (authenticate(ctx, request.headers.authorization).kind !== 'admin') throw new ForbiddenError();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await app.register(apiV1(ctx, limits), { prefix: '/api/v1' });

  let watch: ReturnType<typeof startFleetWatch> | null = null;
  let housekeeping: NodeJS.Timeout | undefined;
  let sampler: UsageSampler | null = null;
  let edges: Edges | null = null;
  let domainChecks: { stop(): Promise<void> } | null = null;
  let panelBackups: { stop(): Promise<void> } | null = null;
  let backups: { stop(): Promise<void> } | null = null;
  let certificates: { stop(): Promise<void> } | null = null;
  app.addHook('onReady', async () => {
    runner.recover();
    repos.idempotency.purgeOlderThan(48);
    repos.sessions.purgeExpired(new Date().toISOString());
    housekeeping = setInterval(() => {
      repos.idempotency.purgeOlderThan(48);
      repos.sessions.purgeExpired(new Date().toISOString());
    }, 3600_000).unref();
    // The watch reconciles every node on its first beat, then follows Docker's events.
    if (deps.background !== false) watch = startFleetWatch(ctx);
    if (deps.background !== false) sampler = startUsageSampler(ctx);
    if (deps.background !== false && config.edge) edges = startEdges(ctx);
    if (deps.background !== false) domainChecks = startDomainChecks(ctx);
    if (deps.background !== false) panelBackups = startPanelBackups(ctx);
    if (deps.background !== false) backups = startBackupLoop(ctx);
    if (deps.background !== false && config.acmeDirectory) certificates = startCertificates(ctx);
  });
  app.addHook('onClose', async () => {
    clearInterval(housekeeping);
    await watch?.stop();
    await sampler?.stop();
    await edges?.stop();
    await domainChecks?.stop();
    await panelBackups?.stop();
    await backups?.stop();
    await certificates?.stop();
    closeFileAgents(ctx);
    await runner.close();
    db.close();
  });
  return { app, ctx };
}

/** The panel's JSON log: off, on standard output, or appended to KURA_LOG_FILE. */
function loggerOptions(config: Config): false | { level: string; redact: string[]; serializers: { req: typeof requestLogSerializer }; file?: string } {
  if (config.logLevel === 'silent') return false;
  // Secrets in URLs (invite links) are redacted by the request serializer.
  const options = { level: config.logLevel, redact: ['req.headers.authorization'], serializers: { req: requestLogSerializer } };
  if (!config.logFile) return options;
  // Opened once here so that a missing folder or an unwritable file stops the start with a
  // plain message: the logger opens it asynchronously, and its failure would be an uncaught error.
  try {
    fs.closeSync(fs.openSync(config.logFile, 'a', 0o600));
  } catch (err) {
    throw new ConfigError(`KURA_LOG_FILE: ${errorMessage(err)}`);
  }
  return { ...options, file: config.logFile };
}
