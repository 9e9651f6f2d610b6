import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as acme from 'acme-client';
import type { Domain } from '../domain/types.js';
import { errorMessage } from '../lib/errors.js';
import { nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';
import { publishEnvironment } from './environment-state.js';
import { dnsResolver } from './domains.js';

/** After a failed order: 1 minute, doubling, at most a day, so the CA's rate limits are never reached by retries. */
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 24 * 3600_000;
/** How long the edges get to serve a challenge before the CA is told to look. */
const CHALLENGE_READY_MS = 20_000;

/**
 * Obtains (or renews) a domain's certificate from the ACME CA (KURA_ACME_DIRECTORY) by
 * HTTP-01: every edge answers the challenge, since DNS may point at any node. DNS is checked
 * first, so an order is never placed for a name that does not point at the service. The key
 * is made here and kept sealed; the edges get the certificate at once.
 */
export async function obtainCertificate(ctx: Context, d: Domain): Promise<void> {
  const directoryUrl = ctx.config.acmeDirectory;
  if (!directoryUrl) return;
  const attempts = d.certificate.attempts + 1;
  ctx.repos.domains.setCertificate(d.id, { source: 'acme', status: d.certificate.status === 'issued' ? 'issued' : 'pending', attempts });
  const fail = (why: string) => {
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempts - 1, 20));
    ctx.repos.domains.setCertificate(d.id, { status: d.certificate.status === 'issued' ? 'issued' : 'failed', error: why,
      nextAt: new Date(Date.now() + wait).toISOString() });
    publishEnvironment(ctx, d.environmentId);
  };
  const pointed = await pointsAtFleet(ctx, d.asciiName);
  if (pointed !== true) return fail(pointed);
  try {
    configureTrust(ctx);
    const client = new acme.Client({ directoryUrl, accountKey: await accountKey(ctx), backoffAttempts: 10, backoffMin: 500, backoffMax: 5000 });
    const [key, csr] = await acme.crypto.createCsr({ commonName: d.asciiName, altNames: [d.asciiName] });
    const chain = await client.auto({
      csr, termsOfServiceAgreed: true, challengePriority: ['http-01'],
      ...(ctx.config.acmeEmail ? { email: ctx.config.acmeEmail } : {}),
      // The panel checks the edges itself (below): acme-client's own check would ask the system's DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        ctx.repos.domains.addChallenge(challenge.token, d.asciiName, keyAuthorization);
        publishEnvironment(ctx, d.environmentId);
        await edgesAnswer(ctx, d.asciiName, challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        ctx.repos.domains.removeChallenge(challenge.token);
        publishEnvironment(ctx, d.environmentId);
      },
    });
    const leaf = new X509Certificate(acme.crypto.splitPemChain(chain)[0]!);
    const notAfter = new Date(leaf.validTo);
    const lifetime = notAfter.getTime() - new Date(leaf.validFrom).getTime();
    // Renewed when a third of its life is left (30 days of a 90-day certificate).
    const renewAt = new Date(notAfter.getTime() - lifetime / 3);
    ctx.repos.domains.setCertificate(d.id, { source: 'acme', status: 'issued', pem: chain, keySealed: ctx.secrets.seal(key.toString()),
      notAfter: notAfter.toISOString(), error: null, attempts: 0, nextAt: renewAt.toISOString() });
    publishEnvironment(ctx, d.environmentId);
  } catch (err) {
    ctx.log.error({ domain: d.asciiName, err: errorMessage(err) }, 'the certificate could not be obtained');
    fail(`the CA refused: ${errorMessage(err)}`.slice(0, 1000));
  }
}

/** True when the name resolves to a node's public address; otherwise what it resolves to, as a sentence. */
async function pointsAtFleet(ctx: Context, name: string): Promise<true | string> {
  const resolver = dnsResolver(ctx);
  // A family without records is simply not there.
  const lookups = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = lookups.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  const nodes = new Set(ctx.repos.nodes.all().map((n) => n.publicHost));
  if (addresses.some((a) => nodes.has(a))) return true;
  return addresses.length === 0
    ? `${name} has no A or AAAA record yet; point it at the service, and the certificate is tried again`
    : `${name} points at ${addresses.join(', ')}, not at a node of this service; the certificate is tried again later`;
}

/** Waits until an edge answers the challenge as the CA will ask for it. */
async function edgesAnswer(ctx: Context, host: string, token: string, keyAuthorization: string): Promise<void> {
  const nodes = ctx.repos.nodes.all().filter((n) => n.status === 'online' && n.state !== 'disabled');
  const deadline = Date.now() + CHALLENGE_READY_MS;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      const body = await httpGet(node.publicHost, host, `/.well-known/acme-challenge/${token}`);
      if (body === keyAuthorization) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no edge served the challenge for ${host} within ${CHALLENGE_READY_MS / 1000} s`);
}

function httpGet(address: string, host: string, path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ hostname: address, port: 80, path, headers: { host }, timeout: 2000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { if (body.length < 4096) body += c; });
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** The ACME account key: made once, kept sealed in the settings. */
async function accountKey(ctx: Context): Promise<string> {
  const sealed = ctx.repos.settings.get('acme.accountKey');
  if (sealed) return ctx.secrets.open(sealed);
  const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  ctx.repos.settings.set('acme.accountKey', ctx.secrets.seal(key));
  return key;
}

let trusted: string | undefined;
/** The CA's API is trusted with the system's roots plus KURA_ACME_CA_FILE's (pebble's in the tests). */
function configureTrust(ctx: Context): void {
  const file = ctx.config.acmeCaFile;
  if (trusted === (file ?? '')) return;
  const extra = file ? [fs.readFileSync(file, 'utf8')] : [];
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...rootCertificates, ...extra] });
  trusted = file ?? '';
}

/** Active names whose ACME certificate is due. */
export function certificatesDue(ctx: Context, limit: number): Domain[] {
  return ctx.repos.domains.certificatesDue(nowIso(), limit);
}
