import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { certificatesDue, obtainCertificate } from '../services/certificates.js';

const EVERY_MS = 5000;
/** Orders per pass, one after another: a CA's rate limits count orders, and nothing waits on these. */
const PER_PASS = 3;

/** Obtains and renews the certificates of active domains from the ACME CA, when one is configured. */
export function startCertificates(ctx: Context): { stop(): Promise<void> } {
  ctx.repos.domains.clearChallenges();
  let pass: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (pass) return;
    pass = (async () => {
      for (const d of certificatesDue(ctx, PER_PASS)) {
        await obtainCertificate(ctx, d).catch((err: unknown) =>
          ctx.log.error({ domain: d.asciiName, err: errorMessage(err) }, 'a certificate order failed'));
      }
    })().finally(() => { pass = null; });
  }, EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      // An order waiting on its CA is given up; the next start orders again.
      await Promise.race([pass, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
