import { randomBytes } from 'node:crypto';
import type { Lang, Principal } from '../domain/types.js';
import type { SessionKind, SessionRecord } from '../db/repos/sessions.js';
import { BadRequestError, KuraError } from '../lib/errors.js';
import { hashPassword, hashToken, verifyPassword, verifyPasswordOrNone } from '../lib/secrets.js';
import { nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';

/** A session lives 12 hours past its last use. */
export const SESSION_IDLE_MS = 12 * 3600_000;
const TOUCH_EVERY_MS = 60_000;
export const INVITE_TTL_MS = 7 * 24 * 3600_000;
export const MIN_PASSWORD = 8;
/** Sessions one account may hold; the oldest ends when a login would pass it. */
export const MAX_SESSIONS = 20;

export interface WebAccount {
  kind: SessionKind;
  id: string;
  email: string;
  name: string;
  language: Lang | null;
}

export interface ActiveSession {
  session: SessionRecord;
  account: WebAccount;
  principal: Principal;
}

/**
 * Checks an email and password against the admins, then the customers. The answer never
 * says which part was wrong. A suspended customer may still log in and see why.
 */
export async function checkLogin(ctx: Context, email: string, password: string): Promise<WebAccount | null> {
  const admin = ctx.repos.admins.byEmail(email);
  if (admin) {
    return (await verifyPassword(password, admin.passwordHash))
      ? { kind: 'admin', id: admin.id, email: admin.email, name: admin.email, language: admin.language } : null;
  }
  const customer = ctx.repos.customers.byEmail(email);
  if (customer?.passwordHash) {
    if (!(await verifyPassword(password, customer.passwordHash))) return null;
    const login = ctx.repos.customers.login(customer.id);
    return { kind: 'customer', id: customer.id, email: customer.email, name: customer.name, language: login?.language ?? null };
  }
  await verifyPasswordOrNone(password, null);
  return null;
}

/** Starts a fresh session (a new id on every login, so a planted cookie is worthless). */
export function openSession(ctx: Context, account: WebAccount, ip: string, userAgent: string): { cookie: string; session: SessionRecord } {
  const cookie = randomBytes(32).toString('base64url');
  const now = new Date();
  const session: SessionRecord = {
    idHash: hashToken(cookie), kind: account.kind, subjectId: account.id, csrfToken: randomBytes(24).toString('base64url'),
    ip, userAgent: userAgent.slice(0, 300), createdAt: now.toISOString(), lastSeenAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + SESSION_IDLE_MS).toISOString(),
  };
  ctx.repos.sessions.insert(session, MAX_SESSIONS);
  return { cookie, session };
}

/** The session behind a cookie, if it is still valid and its account still exists. */
export function resolveSession(ctx: Context, cookie: string | undefined): ActiveSession | null {
  if (!cookie || cookie.length > 100) return null;
  const session = ctx.repos.sessions.get(hashToken(cookie));
  if (!session) return null;
  const now = Date.now();
  if (Date.parse(session.expiresAt) <= now) {
    ctx.repos.sessions.delete(session.idHash);
    return null;
  }
  const account = accountOf(ctx, session);
  if (!account) {
    ctx.repos.sessions.delete(session.idHash);
    return null;
  }
  if (now - Date.parse(session.lastSeenAt) > TOUCH_EVERY_MS) {
    ctx.repos.sessions.touch(session.idHash, new Date(now).toISOString(), new Date(now + SESSION_IDLE_MS).toISOString());
  }
  const principal: Principal = account.kind === 'admin'
    ? { kind: 'admin', tokenId: null, label: `admin:${account.email}` }
    : { kind: 'customer', customerId: account.id, tokenId: null, label: `customer:${account.email}` };
  return { session, account, principal };
}

/** Whether a session is still open; long-lived connections (console, live updates) poll this. */
export function sessionAlive(ctx: Context, idHash: string): boolean {
  const s = ctx.repos.sessions.get(idHash);
  return s !== undefined && Date.parse(s.expiresAt) > Date.now();
}

function accountOf(ctx: Context, session: SessionRecord): WebAccount | null {
  if (session.kind === 'admin') {
    const a = ctx.repos.admins.get(session.subjectId);
    return a ? { kind: 'admin', id: a.id, email: a.email, name: a.email, language: a.language } : null;
  }
  const c = ctx.repos.customers.get(session.subjectId);
  const login = c && ctx.repos.customers.login(c.id);
  return c && login ? { kind: 'customer', id: c.id, email: c.email, name: c.name, language: login.language } : null;
}

export function closeSession(ctx: Context, idHash: string): void {
  ctx.repos.sessions.delete(idHash);
}

export function setLanguage(ctx: Context, account: WebAccount, lang: Lang): void {
  if (account.kind === 'admin') ctx.repos.admins.setLanguage(account.id, lang);
  else ctx.repos.customers.setLanguage(account.id, lang);
}

export function checkNewPassword(password: string, confirm: string): void {
  if (password.length < MIN_PASSWORD) throw new BadRequestError(`the password must be at least ${MIN_PASSWORD} characters`, { field: 'password' });
  if (password.length > 1024) throw new BadRequestError('the password must be at most 1024 characters', { field: 'password' });
  if (password !== confirm) throw new BadRequestError('the two passwords differ', { field: 'confirm' });
}

/** Changes the signed-in user's password after checking the current one; other sessions end. */
export async function changePassword(ctx: Context, active: ActiveSession, current: string, next: string, confirm: string): Promise<void> {
  checkNewPassword(next, confirm);
  if (!(await checkLogin(ctx, active.account.email, current))) throw new BadRequestError('the current password is wrong', { field: 'current' });
  const hash = await hashPassword(next);
  if (active.account.kind === 'admin') ctx.repos.admins.setPassword(active.account.id, hash);
  else ctx.repos.customers.setPassword(active.account.id, hash);
  ctx.repos.sessions.deleteOthers(active.account.kind, active.account.id, active.session.idHash);
}

/** An admin sets a customer's password; the customer's sessions end. */
export async function resetCustomerPassword(ctx: Context, customerId: string, password: string, confirm: string): Promise<void> {
  checkNewPassword(password, confirm);
  ctx.repos.customers.setPassword(customerId, await hashPassword(password));
  ctx.repos.sessions.deleteOthers('customer', customerId, '');
}

/** A one-time link for the customer to choose a password; an earlier unused link stops working. */
export function createInvite(ctx: Context, customerId: string): string {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  ctx.repos.invites.create(hashToken(token), customerId, new Date(now).toISOString(), new Date(now + INVITE_TTL_MS).toISOString());
  return token;
}

export function inviteCustomer(ctx: Context, token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  return ctx.repos.invites.openFor(hashToken(token), nowIso());
}

export async function acceptInvite(ctx: Context, token: string, password: string, confirm: string): Promise<string> {
  const customerId = inviteCustomer(ctx, token);
  if (!customerId) throw new KuraError('not_found', 'this invitation link was used already or has expired');
  checkNewPassword(password, confirm);
  const hash = await hashPassword(password);
  if (!ctx.repos.invites.use(hashToken(token), nowIso())) throw new KuraError('not_found', 'this invitation link was used already or has expired');
  ctx.repos.customers.setPassword(customerId, hash);
  ctx.repos.sessions.deleteOthers('customer', customerId, '');
  return customerId;
}
