import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';

/**
 * A secret of the panel's kept in its data folder, sealed with the panel's secret key like
 * its other secrets: read when it exists, otherwise made once by `make`. Written beside and
 * renamed, so a crash never leaves half a secret.
 */
export function sealedFile(ctx: Context, name: string, make: () => string): string {
  const file = path.join(ctx.config.dataDir, name);
  if (fs.existsSync(file)) return ctx.secrets.open(fs.readFileSync(file, 'utf8').trim());
  const value = make();
  fs.writeFileSync(`${file}.new`, ctx.secrets.seal(value), { mode: 0o600 });
  fs.renameSync(`${file}.new`, file);
  return value;
}
