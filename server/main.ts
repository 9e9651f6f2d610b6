import { loadConfig, ConfigError } from './config.js';
import { buildApp } from './app.js';
import { startSftp } from './sftp/server.js';
import { MigrationError } from './db/migrate.js';
import { TemplateError } from './templates/catalog.js';

/** Starts the panel: load config, build the app, listen, and close gracefully on a signal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const { app, ctx } = await buildApp({ config });
  await app.listen({ port: config.port, host: config.host });
  const sftp = config.sftpPort === null ? null : await startSftp(ctx, { host: config.host, port: config.sftpPort }).catch(async (err: Error) => {
    await app.close();
    throw new ConfigError(`the SFTP endpoint cannot listen on ${config.host}:${config.sftpPort} (KURA_SFTP_PORT): ${err.message}`);
  });
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'shutting down');
      Promise.resolve(sftp?.close()).then(() => app.close()).then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MigrationError || err instanceof TemplateError) {
    process.stderr.write(`kura: ${err.message}\n`);
  } else {
    process.stderr.write(`kura: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(1);
});
