import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { addSshKey, deleteSshKey, listSshKeys } from '../../services/ssh-keys.js';
import type { SshKey as SshKeyRecord } from '../../db/repos/ssh-keys.js';
import { principal } from '../auth.js';
import { IdParams, Text, Timestamp, errors, page } from './schemas.js';

const SshKey = Type.Object({
  id: Type.String(), name: Type.String(),
  fingerprint: Type.String({ description: 'SHA256 of the key, as ssh-keygen -l shows it' }),
  createdAt: Timestamp,
});
const keyView = (k: SshKeyRecord) => ({ id: k.id, name: k.name, fingerprint: k.fingerprint, createdAt: k.createdAt });

export const sshKeyRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['ssh-keys'];

  app.get('/customers/:id/ssh-keys', {
    schema: { tags, operationId: 'listSshKeys', summary: 'The customer\'s SSH keys', params: IdParams,
      description: 'The public keys that may log in over SFTP to the customer\'s environments. A customer token sees its own only.',
      response: { 200: page(SshKey), ...errors(401, 404) } },
  }, async (request) => ({ items: listSshKeys(ctx, principal(request), request.params.id).map(keyView), nextCursor: null }));

  app.post('/customers/:id/ssh-keys', {
    schema: { tags, operationId: 'addSshKey', summary: 'Register an SSH public key', params: IdParams,
      description: 'An OpenSSH public key line, as in a .pub file: ssh-ed25519, ecdsa-sha2-nistp256/384/521, or ssh-rsa of at least 2048 bits.'
        + ' A malformed, private or weak key answers 400 with the reason; a key already registered, 409.',
      body: Type.Object({ name: Text(100), publicKey: Type.String({ minLength: 1, maxLength: 16384 }) }, { additionalProperties: false }),
      response: { 201: SshKey, ...errors(400, 401, 404, 409) } },
  }, async (request, reply) =>
    reply.code(201).send(keyView(addSshKey(ctx, principal(request), request.params.id, request.body.name, request.body.publicKey))));

  app.delete('/ssh-keys/:id', {
    schema: { tags, operationId: 'deleteSshKey', summary: 'Remove an SSH key', params: IdParams,
      description: 'The key can no longer log in. A customer token removes its own only.',
      response: { 204: { type: 'null', description: 'The key is removed' }, ...errors(401, 404) } },
  }, async (request, reply) => {
    deleteSshKey(ctx, principal(request), request.params.id);
    return reply.code(204).send();
  });
};
