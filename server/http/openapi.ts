import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { toOpenApi30 } from './openapi-schema.js';

/**
 * The OpenAPI document of the provisioning API, made by @fastify/swagger from the route
 * schemas and served at /api/v1/openapi.json. Billing systems generate their clients
 * from it, so it is kept in its own file rather than in the app's wiring.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Kura provisioning API', version: '1.0.0',
        description: 'Quota-enforced customer environments on Docker nodes. Authenticate with `Authorization: Bearer <token>`.' },
      servers: [{ url: '/api/v1' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url }) => ({ schema: toOpenApi30(schema), url: url.replace(/^\/api\/v1/, '') }),
    hideUntagged: true,
  });
}
