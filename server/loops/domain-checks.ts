import { errorMessage } from '../lib/errors.js';
import { poolAll } from '../lib/pool.js';
import type { Context } from '../core/context.js';
import { dueDomains, verifyDomain } from '../services/domains.js';

const EVERY_MS = 5000;
/** Checks per pass and at once: DNS answers slowly at worst (seconds), and nothing else waits on these. */
const PER_PASS = 20;
const AT_ONCE = 4;

/** Checks pending domain names whose time has come, until their owners' proof shows in DNS. */
export function startDomainChecks(ctx: Context): { stop(): Promise<void> } {
  let pass: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (pass) return;
    pass = poolAll(dueDomains(ctx, PER_PASS), AT_ONCE, (d) => verifyDomain(ctx, d).catch((err: unknown) =>
      ctx.log.error({ domain: d.asciiName, err: errorMessage(err) }, 'a domain check failed')))
      .finally(() => { pass = null; });
  }, EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}
