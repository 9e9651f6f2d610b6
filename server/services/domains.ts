import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { maySee } from '../domain/access.js';
import { checkUploadedCertificate } from '../domain/certificates.js';
import { challengeName, parseDomainName } from '../domain/domain-names.js';
import type { Domain, Principal } from '../domain/types.js';
import { BadRequestError, ConflictError, NotFoundError } from '../lib/errors.js';
import { newId, nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';
import { defaultHostname, domainView } from '../read-models/views.js';
import { environmentFor } from './environments.js';
import { publishEnvironment } from './environment-state.js';

/** So one customer cannot fill the panel's checks (and the edge's routes) with names. */
export const DOMAIN_LIMITS = { perEnvironment: 20, perCustomer: 100 };
/** Re-checks of a pending name: 30 s, doubling, at most hourly; after this long without proof the claim fails. */
const FIRST_RECHECK_MS = 30_000;
const MAX_RECHECK_MS = 3600_000;
const GIVE_UP_MS = 7 * 24 * 3600_000;
const DNS_TIMEOUT_MS = 3000;

/** The environment's names as the API and the pages show them (the environment read once for all). */
export function listDomains(ctx: Context, who: Principal, environmentId: string): ReturnType<typeof domainView>[] {
  const env = environmentFor(ctx, who, environmentId);
  return ctx.repos.domains.byEnvironment(env.id).map((d) => domainView(ctx, d, env));
}

/** The domain if the caller may see it; another customer's answers exactly like a missing one. */
export function domainFor(ctx: Context, who: Principal, id: string): Domain {
  const d = ctx.repos.domains.get(id);
  if (!d || !maySee(who, d.customerId)) throw new NotFoundError('domain', id);
  return d;
}

/**
 * Adds a name to an environment, pending until its owner proves control. Refused when the
 * name is not a customer's to add (see parseDomainName), when another customer holds it, or
 * when the customer already has it; several customers may claim a name that nobody holds.
 */
export function addDomain(ctx: Context, who: Principal, environmentId: string, input: string): Domain {
  const env = environmentFor(ctx, who, environmentId);
  const parsed = parseDomainName(input, ctx.config.baseDomain);
  if ('refused' in parsed) throw new BadRequestError(parsed.refused, { field: 'name' });
  if (ctx.repos.customers.get(env.customerId)?.status === 'suspended') throw new ConflictError('the customer is suspended; resume the customer first');
  return ctx.repos.db.transaction(() => {
    const claims = ctx.repos.domains.byName(parsed.asciiName);
    if (claims.some((d) => d.status === 'active' && d.customerId !== env.customerId)) {
      throw new ConflictError(`${parsed.name} is held by another customer`, { field: 'name' });
    }
    const own = claims.find((d) => d.customerId === env.customerId);
    if (own) {
      const where = ctx.repos.environments.get(own.environmentId)?.name ?? own.environmentId;
      throw new ConflictError(`${parsed.name} is already on ${own.environmentId === env.id ? 'this environment' : `environment ${where}`}`, { field: 'name' });
    }
    if (ctx.repos.domains.countForEnvironment(env.id) >= DOMAIN_LIMITS.perEnvironment) {
      throw new ConflictError(`an environment can have at most ${DOMAIN_LIMITS.perEnvironment} domain names`, { field: 'name' });
    }
    if (ctx.repos.domains.countForCustomer(env.customerId) >= DOMAIN_LIMITS.perCustomer) {
      throw new ConflictError(`a customer can have at most ${DOMAIN_LIMITS.perCustomer} domain names`, { field: 'name' });
    }
    return ctx.repos.domains.insert({ id: newId('dom'), environmentId: env.id, customerId: env.customerId, name: parsed.name,
      asciiName: parsed.asciiName, verificationValue: `kura-verify-${randomBytes(16).toString('hex')}` });
  }).immediate();
}

export function deleteDomain(ctx: Context, who: Principal, id: string): void {
  const d = domainFor(ctx, who, id);
  ctx.repos.domains.remove(d.id);
  // The edge's routes follow environment updates.
  if (d.status === 'active') publishEnvironment(ctx, d.environmentId);
}

/**
 * Checks a name now, as the customer asked: a failed claim is tried again too. Answers the
 * domain as it now stands.
 */
export async function checkDomainNow(ctx: Context, who: Principal, id: string): Promise<Domain> {
  const d = domainFor(ctx, who, id);
  if (d.status !== 'active') await verifyDomain(ctx, d);
  return ctx.repos.domains.get(d.id) ?? d;
}

/**
 * Looks for the owner's proof of control in DNS: the TXT record at _kura-challenge.<name>
 * holding the domain's value, or the name being a CNAME to the environment's own hostname.
 * Proven, the domain becomes active unless another customer got there first; not proven,
 * it is checked again later, less and less often, and fails after a week.
 */
export async function verifyDomain(ctx: Context, d: Domain): Promise<void> {
  const env = ctx.repos.environments.get(d.environmentId);
  if (!env) return;
  const attempts = d.checkAttempts + 1;
  const proof = await findProof(ctx, d, defaultHostname(ctx, env));
  const current = ctx.repos.domains.get(d.id);
  if (!current || current.status === 'active') return;
  if (proof === true) {
    if (ctx.repos.domains.activate(d.id, attempts)) {
      // A certificate is obtained next, unless the customer gave one.
      if (current.certificate.source !== 'uploaded') ctx.repos.domains.setCertificate(d.id, { nextAt: nowIso() });
      publishEnvironment(ctx, d.environmentId);
      return;
    }
    ctx.repos.domains.checked(d.id, { status: 'failed', reason: 'another customer holds this name', attempts, nextCheckAt: null });
    return;
  }
  if (Date.now() - Date.parse(d.createdAt) > GIVE_UP_MS && current.status === 'pending') {
    ctx.repos.domains.checked(d.id, { status: 'failed', attempts, nextCheckAt: null,
      reason: `control was not proven within 7 days (${proof}); set the record and check again` });
    return;
  }
  const wait = Math.min(MAX_RECHECK_MS, FIRST_RECHECK_MS * 2 ** Math.min(attempts - 1, 20));
  ctx.repos.domains.checked(d.id, { status: 'pending', reason: proof, attempts, nextCheckAt: new Date(Date.now() + wait).toISOString() });
}

/** True when DNS shows the proof; otherwise why not, as a sentence for the customer. */
async function findProof(ctx: Context, d: Domain, hostname: string | null): Promise<true | string> {
  const resolver = dnsResolver(ctx);
  const txtName = challengeName(d.asciiName);
  let txt: string;
  try {
    const records = (await resolver.resolveTxt(txtName)).map((chunks) => chunks.join(''));
    if (records.includes(d.verificationValue)) return true;
    txt = records.length > 0 ? `the TXT record at ${txtName} does not hold the value` : `there is no TXT record at ${txtName}`;
  } catch (err) {
    txt = dnsFailure(err, 'TXT', txtName);
  }
  if (!hostname) return txt;
  try {
    const targets = (await resolver.resolveCname(d.asciiName)).map((t) => t.toLowerCase().replace(/\.$/, ''));
    if (targets.includes(hostname)) return true;
    return `${txt}, and ${d.asciiName} is a CNAME to ${targets.join(', ')}, not to ${hostname}`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return `${txt}, and ${d.asciiName} is not a CNAME to ${hostname}`;
    return `${txt}; ${dnsFailure(err, 'CNAME', d.asciiName)}`;
  }
}

function dnsFailure(err: unknown, type: string, name: string): string {
  const code = (err as { code?: string }).code ?? 'error';
  if (code === 'ENODATA' || code === 'ENOTFOUND') return `there is no ${type} record at ${name}`;
  if (code === 'ETIMEOUT' || code === 'ECONNREFUSED') return `DNS did not answer for the ${type} record at ${name} (${code}); it is tried again`;
  return `DNS failed for the ${type} record at ${name} (${code})`;
}

/** The resolver the panel asks about customers' names: KURA_DNS_SERVERS, or the system's; a few seconds at most. */
export function dnsResolver(ctx: Context): Resolver {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  if (ctx.config.dnsServers) resolver.setServers(ctx.config.dnsServers);
  return resolver;
}

/** Names waiting for a check, a few at a time, soonest first. */
export function dueDomains(ctx: Context, limit: number): Domain[] {
  return ctx.repos.domains.due(nowIso(), limit);
}

/**
 * The customer's own certificate for a name, instead of one the panel obtains: checked (key,
 * chain, names, dates) and kept with its key sealed; the edges serve it once the name is active.
 */
export function uploadCertificate(ctx: Context, who: Principal, id: string, certPem: string, keyPem: string): Domain {
  const d = domainFor(ctx, who, id);
  const checked = checkUploadedCertificate(certPem, keyPem, d.asciiName);
  if ('refused' in checked) throw new BadRequestError(checked.refused, { field: 'cert' });
  ctx.repos.domains.setCertificate(d.id, { source: 'uploaded', status: 'issued', pem: checked.chainPem, keySealed: ctx.secrets.seal(checked.keyPem),
    notAfter: checked.notAfter, error: null, attempts: 0, nextAt: null });
  if (d.status === 'active') publishEnvironment(ctx, d.environmentId);
  return ctx.repos.domains.get(d.id)!;
}
