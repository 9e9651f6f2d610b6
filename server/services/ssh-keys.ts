import { maySee } from '../domain/access.js';
import { parsePublicKey } from '../domain/ssh-keys.js';
import type { Principal } from '../domain/types.js';
import type { SshKey } from '../db/repos/ssh-keys.js';
import { BadRequestError, ConflictError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Context } from '../core/context.js';
import { customerFor } from './customers.js';

/** Enough for every device a customer works from; a bound on what one customer can store. */
export const MAX_KEYS = 50;

export function listSshKeys(ctx: Context, who: Principal, customerId: string): SshKey[] {
  return ctx.repos.sshKeys.byCustomer(customerFor(ctx, who, customerId).id);
}

/** Registers a public key for SFTP; a malformed key, a private key or a weak one is refused with the reason. */
export function addSshKey(ctx: Context, who: Principal, customerId: string, name: string, publicKey: string): SshKey {
  const customer = customerFor(ctx, who, customerId);
  const parsed = parsePublicKey(publicKey);
  if ('refused' in parsed) throw new BadRequestError(parsed.refused, { field: 'publicKey' });
  return ctx.repos.db.transaction(() => {
    if (ctx.repos.sshKeys.count(customer.id) >= MAX_KEYS) throw new ConflictError(`a customer can have at most ${MAX_KEYS} SSH keys`);
    return ctx.repos.sshKeys.insert({ id: newId('key'), customerId: customer.id, name, publicKey: parsed.openssh, fingerprint: parsed.fingerprint });
  }).immediate();
}

export function deleteSshKey(ctx: Context, who: Principal, id: string): SshKey {
  const key = ctx.repos.sshKeys.get(id);
  if (!key || !maySee(who, key.customerId)) throw new NotFoundError('ssh key', id);
  ctx.repos.sshKeys.remove(id);
  return key;
}
