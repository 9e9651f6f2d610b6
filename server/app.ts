import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyView from '@fastify/view';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConfigError, type Config } from './config.js';
import { openDatabase, type Db } from './db/connection.js';
import { migrate, readMigrations } from './db/migrate.js';
import { repos as makeRepos } from './db/index.js';
import { NodeRegistry } from './docker/registry.js';
import { loadSecretBox } from './lib/secrets.js';
import { newId } from './lib/ids.js';
import { OperationRunner } from './operations/runner.js';
import { provisionHandler } from './operations/handlers/provision.js';
import { powerHandler } from './operations/handlers/power.js';
import { resizeHandler } from './operations/handlers/resize.js';
import { destroyHandler } from './operations/handlers/destroy.js';
import { preloadHandler } from './operations/handlers/preload.js';
import { reinstallHandler } from './operations/handlers/reinstall.js';
import { moveHandler } from './operations/handlers/move.js';
import { evacuateHandler } from './operations/handlers/evacuate.js';
import { restoreHandler } from './operations/handlers/restore.js';
import { consolidateHandler, rebalanceHandler } from './operations/handlers/fleet-moves.js';
import { loadTemplates } from './templates/catalog.js';
import { templateImages } from './templates/image-builder.js';
import { UpdateBus } from './core/updates.js';
import type { Context } from './core/context.js';
import { bootstrapAccounts } from './services/bootstrap.js';
import { startFleetWatch } from './loops/fleet-watch.js';
import { startUsageSampler, type UsageSampler } from './loops/usage-sampler.js';
import { createMetrics } from './core/metrics.js';
import { authenticate } from './services/auth.js';
import { errorMessage, ForbiddenError } from './lib/errors.js';
import { frameworkErrors, registerErrorHandling } from './http/errors.js';
import { registerBodyRules } from './http/body.js';
import { validatorCompiler } from './http/validation.js';
import { ErrorResponse } from './http/api/schemas.js';
import { apiV1 } from './http/api/index.js';
import { webUi } from './http/ui/index.js';
import { webAssets } from './http/ui/assets.js';
import { loadLocales } from './http/ui/i18n.js';
import { viewEngine } from './http/ui/view-engine.js';
import { ROOT } from './config.js';

export interface AppDeps {
  config: Config;
  /** An already-open database (tests pass ':memory:'); by default the data dir's kura.db. */
  db?: Db;
  /** Skip the background node health beat and start-up reconcile (unit tests). */
  background?: boolean;
}

/** Wires the panel in one visible order: storage, services, then HTTP. */
export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; ctx: Context }> {
  const { config } = deps;
  const logger = loggerOptions(config);
  const db = deps.db ?? openDatabase(path.join(config.dataDir, 'kura.db'));
  migrate(db, readMigrations(config.migrationsDir));
  const repos = makeRepos(db);
  const secrets = loadSecretBox(config.dataDir);
  const templates = loadTemplates(config.templatesDir);

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
  const updates = new UpdateBus();
  const metrics = createMetrics(repos, updates);
  const nodes = new NodeRegistry((nodeId) => {
    const c = repos.nodes.connection(nodeId);
    if (!c) throw new Error(`node ${nodeId} is not registered`);
    return { name: c.name, endpoint: c.endpoint,
      tls: c.ca && c.cert && c.keySealed ? { ca: c.ca, cert: c.cert, key: secrets.open(c.keySealed) } : undefined };
  }, metrics.dockerCall);
  // The runner's handlers take the context, so the context is completed with the runner just below.
  const ctx = {
    config, repos, templates, secrets, nodes, updates, log, metrics, panelId, known: new Set<string>(),
    images: templateImages({ cacheDir: config.imageCacheDir, debianMirror: config.debianMirror, log: (line) => log.info(line) }),
  } as Omit<Context, 'runner'> as Context;
  ctx.runner = new OperationRunner(repos, updates, {
    provision: provisionHandler(ctx),
    power: powerHandler(ctx),
    resize: resizeHandler(ctx),
    destroy: destroyHandler(ctx),
    preload: preloadHandler(ctx),
    reinstall: reinstallHandler(ctx),
    migrate: moveHandler(ctx),
    evacuate: evacuateHandler(ctx),
    restore: restoreHandler(ctx),
    consolidate: consolidateHandler(ctx),
    rebalance: rebalanceHandler(ctx),
  }, log);
  await bootstrapAccounts(ctx);

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  registerBodyRules(app);
  app.addSchema(ErrorResponse);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Kura provisioning API', version: '1.0.0',
        description: 'Quota-enforced customer environments on Docker nodes. Authenticate with `Authorization: Bearer <token>`.' },
      servers: [{ url: '/api/v1' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url }) => ({ schema, url: url.replace(/^\/api\/v1/, '') }),
    hideUntagged: true,
  });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  const i18n = loadLocales(path.join(ROOT, 'locales'));
  await app.register(fastifyView, { engine: { handlebars: viewEngine(path.join(ROOT, 'views'), i18n) }, root: path.join(ROOT, 'views'),
    layout: 'layouts/main.hbs', production: true });
  await app.register(webAssets);
  await app.register(webUi(ctx, i18n));
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  // Prometheus scrapes with the admin token (bearer_token in its scrape config): fleet figures are not public.
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (authenticate(ctx, request.headers.authorization).kind !== 'admin') throw new ForbiddenError();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await app.register(apiV1(ctx), { prefix: '/api/v1' });

  let watch: ReturnType<typeof startFleetWatch> | null = null;
  let housekeeping: NodeJS.Timeout | undefined;
  let sampler: UsageSampler | null = null;
  app.addHook('onReady', async () => {
    ctx.runner.recover();
    repos.idempotency.purgeOlderThan(48);
    repos.sessions.purgeExpired(new Date().toISOString());
    housekeeping = setInterval(() => {
      repos.idempotency.purgeOlderThan(48);
      repos.sessions.purgeExpired(new Date().toISOString());
    }, 3600_000).unref();
    // The watch reconciles every node on its first beat, then follows Docker's events.
    if (deps.background !== false) watch = startFleetWatch(ctx);
    if (deps.background !== false) sampler = startUsageSampler(ctx);
  });
  app.addHook('onClose', async () => {
    clearInterval(housekeeping);
    await watch?.stop();
    await sampler?.stop();
    await ctx.runner.close();
    db.close();
  });
  return { app, ctx };
}

/** The panel's JSON log: off, on standard output, or appended to KURA_LOG_FILE. */
function loggerOptions(config: Config): false | { level: string; redact: string[]; file?: string } {
  if (config.logLevel === 'silent') return false;
  const options = { level: config.logLevel, redact: ['req.headers.authorization'] };
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
