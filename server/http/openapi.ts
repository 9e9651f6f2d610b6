import type { FastifyInstance } from 'fastify';
import swagger, { formatParamUrl } from '@fastify/swagger';
import { OptionalKind } from '@sinclair/typebox';
import { toOpenApi30 } from './openapi-schema.js';

/**
 * Every tag an operation uses, declared once: client generators group operations by
 * them, and an undeclared tag has no description to show. The test of the document
 * fails on an operation whose tag is missing here.
 */
export const API_TAGS = [
  { name: 'nodes', description: 'Docker engines the panel places environments on. Admin only: a customer token gets 403.' },
  { name: 'templates', description: 'What an environment is built from. Any token may read them; preloading one on the nodes is admin only.' },
  { name: 'plans', description: 'The limits an environment gets: CPUs, memory, swap, disk and processes. Any token may read them; the admin manages them.' },
  { name: 'customers', description: 'The accounts that own environments, with their limits. The admin manages them; a customer token sees only its own customer.' },
  { name: 'tokens', description: 'API tokens of customers. A token\'s value is shown once, when it is issued; the panel keeps only its hash.' },
  { name: 'environments', description: 'Customer containers: create, start and stop, resize, reinstall and delete them (each answered 202 with an operation), '
    + 'and read their state, live usage, usage history, lifecycle history and logs. A customer token sees only its own.' },
  { name: 'domains', description: 'Customers\' own domain names on their environments: served by every node\'s edge once the owner proves control '
    + 'through DNS. A customer token sees only its own.' },
  { name: 'ssh-keys', description: 'Customers\' SSH public keys, for SFTP into their environments. A customer token manages its own.' },
  { name: 'files', description: 'An environment\'s files in its template\'s data folder: list, download (a folder as a .tar.gz), upload, make folders, rename, delete. The same files SFTP reaches.' },
  { name: 'backups', description: 'Consistent, incremental, encrypted backups of environments (restic, one repository per customer, off the nodes): take, list, browse, download, restore in place, one path, or into a new environment, delete.' },
  { name: 'imports', description: 'Existing servers brought into environments: a read-only preflight over SSH that reports what will and will not carry over (admin).' },
  { name: 'operations', description: 'The asynchronous work behind every 202 answer, with its progress and outcome. Wait on one, or follow the event stream.' },
  { name: 'events', description: 'A Server-Sent Events stream of operation and environment changes the caller may see.' },
  { name: 'fleet', description: 'Placement across the nodes. Admin only.' },
  { name: 'mobility', description: 'Moving environments between nodes: one environment, a whole node for maintenance and back, '
    + 'or the fleet to empty nodes or even out their load. Admin only.' },
];

/**
 * Any API call may be refused for fair use (see http/rate-limit.ts and docker/node-gate.ts),
 * so every operation lists this answer; it is added to the document here rather than to
 * each route, whose own schemas describe what the route itself answers.
 */
const RATE_LIMITED = {
  description: 'Too many requests: the caller is over its request rate or its requests in flight, or the panel has no free connection'
    + ' to the node in time. Nothing was done; retry after the seconds in Retry-After.',
  headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/**
 * The OpenAPI document of the provisioning API, made by @fastify/swagger from the route
 * schemas and served at /api/v1/openapi.json. Billing systems generate their clients
 * from it, so it is kept in its own file rather than in the app's wiring.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // Routes whose whole body is Optional take no body at all (see body.ts); @fastify/swagger
  // marks every request body required, so these are noted here and relaxed below.
  const optionalBodies = new Set<string>();
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Kura provisioning API', version: '1.0.0',
        description: 'Quota-enforced customer environments on Docker nodes. Authenticate with `Authorization: Bearer <token>`.',
        // Each installation serves its own document, so the contact is whoever runs it.
        contact: { name: 'The operators of this Kura panel' } },
      servers: [{ url: '/api/v1' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: API_TAGS,
    },
    transform: ({ schema, url, route }) => {
      const path = url.replace(/^\/api\/v1/, '');
      if (isOptional(schema?.body)) {
        for (const method of [route.method].flat()) optionalBodies.add(`${method.toLowerCase()} ${formatParamUrl(path)}`);
      }
      return { schema: toOpenApi30(schema), url: path };
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      relaxBodies(document.openapiObject.paths, optionalBodies);
      addRateLimited(document.openapiObject);
      return document.openapiObject;
    },
    // Shared schemas are named by their $id (`Error`), not by a counter (`def-0`) that
    // would rename them in every generated client when a schema is added.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    hideUntagged: true,
  });
}

function addRateLimited(doc: { paths?: unknown; components?: { responses?: Record<string, unknown> } }): void {
  doc.components = { ...doc.components, responses: { ...doc.components?.responses, RateLimited: RATE_LIMITED } };
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const op of Object.values(item)) {
      const responses = field(op, 'responses');
      if (typeof responses === 'object' && responses !== null) Object.assign(responses, { 429: { $ref: '#/components/responses/RateLimited' } });
    }
  }
}

function isOptional(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && OptionalKind in schema;
}

function relaxBodies(paths: unknown, optional: Set<string>): void {
  for (const key of optional) {
    const [method, path] = key.split(' ') as [string, string];
    const body = field(field(field(paths, path), method), 'requestBody');
    if (typeof body === 'object' && body !== null) Object.assign(body, { required: false });
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
