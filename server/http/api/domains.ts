import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { addDomain, checkDomainNow, deleteDomain, domainFor, listDomains, uploadCertificate } from '../../services/domains.js';
import { domainView } from '../../read-models/views.js';
import { principal } from '../auth.js';
import { Domain, IdParams, errors, page } from './schemas.js';

export const domainRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['domains'];

  app.get('/environments/:id/domains', {
    schema: { tags, operationId: 'listDomains', summary: 'The environment\'s own domain names', params: IdParams,
      description: 'Every name added to the environment, with its status and the DNS record that proves control. A customer token sees its own environments only.',
      response: { 200: page(Domain), ...errors(401, 404) } },
  }, async (request) => ({ items: listDomains(ctx, principal(request), request.params.id), nextCursor: null }));

  app.post('/environments/:id/domains', {
    schema: { tags, operationId: 'addDomain', summary: 'Add a domain name to an environment', params: IdParams,
      description: 'The name (Unicode allowed; stored as entered, served as its IDNA form) is pending until its owner proves control:'
        + ' the TXT record in verification, or the name as a CNAME to the environment\'s hostname. The panel checks again, less and less often,'
        + ' until it holds. Refused with 400: IP addresses, single labels, localhost, wildcards, names under KURA_BASE_DOMAIN, invalid labels.'
        + ' A name another customer holds, or one the customer already has: 409.',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 300 }) }, { additionalProperties: false }),
      response: { 201: Domain, ...errors(400, 401, 404, 409) } },
  }, async (request, reply) => reply.code(201).send(domainView(ctx, addDomain(ctx, principal(request), request.params.id, request.body.name))));

  app.get('/domains/:id', {
    schema: { tags, operationId: 'getDomain', summary: 'Get a domain name', params: IdParams, response: { 200: Domain, ...errors(401, 404) },
      description: 'One domain by id. A customer token sees its own only.' },
  }, async (request) => domainView(ctx, domainFor(ctx, principal(request), request.params.id)));

  app.post('/domains/:id/check', {
    schema: { tags, operationId: 'checkDomain', summary: 'Check a domain\'s proof of control now', params: IdParams,
      description: 'Looks for the proof in DNS now (a failed claim is tried again too) and answers the domain as it now stands: pending until proven.',
      response: { 200: Domain, ...errors(401, 404) } },
  }, async (request) => domainView(ctx, await checkDomainNow(ctx, principal(request), request.params.id)));

  app.put('/domains/:id/certificate', {
    schema: { tags, operationId: 'uploadCertificate', summary: 'Use your own certificate for a domain', params: IdParams,
      description: 'PEM certificate (the leaf first, then its issuers) and its private key, instead of one the panel obtains by ACME.'
        + ' Refused with 400, saying what is wrong, when the key does not match, the chain is broken, the names do not cover the domain,'
        + ' or it is not valid now. The key is kept encrypted; every edge serves the certificate once the domain is active.',
      body: Type.Object({ cert: Type.String({ minLength: 1, maxLength: 65536 }), key: Type.String({ minLength: 1, maxLength: 65536 }) },
        { additionalProperties: false }),
      response: { 200: Domain, ...errors(400, 401, 404) } },
  }, async (request) => domainView(ctx, uploadCertificate(ctx, principal(request), request.params.id, request.body.cert, request.body.key)));

  app.delete('/domains/:id', {
    schema: { tags, operationId: 'deleteDomain', summary: 'Remove a domain name', params: IdParams,
      description: 'The name is no longer served; another customer may then claim it.',
      response: { 204: { type: 'null', description: 'The domain is removed' }, ...errors(401, 404) } },
  }, async (request, reply) => {
    deleteDomain(ctx, principal(request), request.params.id);
    return reply.code(204).send();
  });
};
