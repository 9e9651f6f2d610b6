import type { Customer, CustomerLimits, Principal } from '../domain/types.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { hashPassword, hashToken, newToken } from '../lib/secrets.js';
import type { OperationOf } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';
import { startOperation } from './operations.js';
import { maySee } from '../domain/access.js';

export interface CustomerInput {
  name: string;
  email: string;
  password?: string | undefined;
  limits?: Partial<CustomerLimits> | undefined;
  selfService?: boolean | undefined;
}

const NO_LIMITS: CustomerLimits = { environments: null, cpus: null, memoryMb: null, diskMb: null };

export async function createCustomer(ctx: Context, input: CustomerInput): Promise<Customer> {
  if (ctx.repos.customers.byEmail(input.email)) throw new ConflictError(`a customer with email ${input.email} exists`, { field: 'email' });
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  // The repository turns a race with another create of the same email into the same ConflictError.
  return ctx.repos.customers.insert({ id: newId('cus'), name: input.name, email: input.email, passwordHash,
    limits: { ...NO_LIMITS, ...input.limits }, selfService: input.selfService ?? true });
}

/** A customer by id, for callers already allowed to see every customer (admins). */
export function getCustomer(ctx: Context, id: string): Customer {
  const c = ctx.repos.customers.get(id);
  if (!c) throw new NotFoundError('customer', id);
  return c;
}

/** A customer the caller may see: a customer token sees only its own customer. */
export function customerFor(ctx: Context, who: Principal, id: string): Customer {
  const c = ctx.repos.customers.get(id);
  if (!c || !maySee(who, id)) throw new NotFoundError('customer', id);
  return c;
}

export async function updateCustomer(ctx: Context, id: string, patch: Partial<CustomerInput>): Promise<Customer> {
  const c = getCustomer(ctx, id);
  if (patch.email !== undefined && patch.email.toLowerCase() !== c.email.toLowerCase() && ctx.repos.customers.byEmail(patch.email)) {
    throw new ConflictError(`a customer with email ${patch.email} exists`, { field: 'email' });
  }
  ctx.repos.customers.update({ id, name: patch.name ?? c.name, email: patch.email ?? c.email, limits: { ...c.limits, ...patch.limits } });
  if (patch.password !== undefined) ctx.repos.customers.setPassword(id, await hashPassword(patch.password));
  if (patch.selfService !== undefined) ctx.repos.customers.setSelfService(id, patch.selfService);
  return ctx.repos.customers.get(id)!;
}

/** Suspends a customer: their environments are stopped and may not start until resumed. */
export function suspendCustomer(ctx: Context, id: string): { customer: Customer; operations: OperationOf<'power'>[] } {
  getCustomer(ctx, id);
  ctx.repos.customers.setStatus(id, 'suspended');
  const operations = ctx.repos.environments.byCustomer(id)
    .filter((e) => e.containerId !== null && e.state !== 'deleting' && e.state !== 'stopped')
    .map((e) => startOperation(ctx, { kind: 'power', resourceId: e.id, customerId: id,
      params: { action: 'stop', reason: 'suspended' } }));
  return { customer: ctx.repos.customers.get(id)!, operations };
}

/** Resumes a customer and starts again the environments that were meant to be running. */
export function resumeCustomer(ctx: Context, id: string): { customer: Customer; operations: OperationOf<'power'>[] } {
  getCustomer(ctx, id);
  ctx.repos.customers.setStatus(id, 'active');
  const operations = ctx.repos.environments.byCustomer(id)
    .filter((e) => e.containerId !== null && e.desiredState === 'running' && e.state === 'stopped')
    .map((e) => startOperation(ctx, { kind: 'power', resourceId: e.id, customerId: id,
      params: { action: 'start', reason: 'resumed' } }));
  return { customer: ctx.repos.customers.get(id)!, operations };
}

/** Issues a customer token; its value is returned only here and only its hash is kept. */
export function createToken(ctx: Context, who: Principal, customerId: string, name: string): { id: string; name: string; token: string } {
  customerFor(ctx, who, customerId);
  const token = newToken();
  const record = ctx.repos.tokens.insert({ id: newId('tok'), customerId, scope: 'customer', name, hash: hashToken(token) });
  return { id: record.id, name: record.name, token };
}

export function revokeToken(ctx: Context, who: Principal, id: string): void {
  const t = ctx.repos.tokens.get(id);
  if (!t || !maySee(who, t.customerId)) throw new NotFoundError('token', id);
  if (t.source === 'env') throw new ConflictError('this token comes from KURA_ADMIN_TOKEN; change the setting to revoke it');
  ctx.repos.tokens.remove(id);
}
