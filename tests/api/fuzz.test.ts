import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation, ADMIN_TOKEN, type TestPanel } from '../helpers/panel.js';
import { databaseSnapshot } from '../helpers/snapshot.js';

/**
 * Requests generated from the served OpenAPI document: wrong types, missing and extra fields,
 * huge and unicode strings, hostile path segments, and other customers' ids. None may answer
 * 5xx; a refused one changes nothing; a customer never reaches another customer's resource.
 * The seed is fixed (KURA_FUZZ_SEED overrides it), so a failure replays exactly.
 */
const SEED = Number(process.env.KURA_FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.KURA_FUZZ_RUNS ?? 400);

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
}
interface Op { method: string; path: string; params: string[]; query: Record<string, Schema>; body: Schema | null }

const HOSTILE = ['', ' ', '../../etc/passwd', '..%2f..%2f', '/etc/shadow', 'a\u0000b', '$(reboot)', ';rm -rf /', '<script>alert(1)</script>',
  '例え.jp', '🙂'.repeat(40), 'x'.repeat(70_000), "' OR 1=1 --", '%00', '\\\\server\\share', 'null', '[]', '{}'];

function value(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const anything = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 20 }),
    fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
  if (!schema || depth > 3) return anything;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => value(s, depth + 1)), anything);
  if (schema.enum) return fc.oneof(fc.constantFrom(...schema.enum), anything);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': return fc.oneof(fc.constantFrom(...HOSTILE), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.string({ unit: 'binary', maxLength: 40 }), anything);
    case 'integer': return fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, -(2 ** 53)), anything);
    case 'number': return fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -0.5, 1e308, 0.25), anything);
    case 'boolean': return fc.oneof(fc.boolean(), anything);
    case 'array': return fc.oneof(fc.array(value(schema.items, depth + 1), { maxLength: 3 }), anything);
    case 'object': return objectValue(schema, depth);
    default: return anything;
  }
}

/** Objects near the schema: each property kept, dropped or replaced, sometimes with a field it does not know. */
function objectValue(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const props = Object.entries(schema.properties ?? {});
  const record = fc.tuple(...props.map(([, s]) => fc.option(value(s, depth + 1), { nil: undefined })),
    fc.option(fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'customerId', 'nodeId'), value(undefined, depth + 1)), { nil: undefined }))
    .map((vals) => {
      const out: Record<string, unknown> = {};
      props.forEach(([k], i) => { if (vals[i] !== undefined) out[k] = vals[i]; });
      const extra = vals[props.length] as [string, unknown] | undefined;
      if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true, writable: true, configurable: true });
      return out;
    });
  return fc.oneof({ weight: 4, arbitrary: record }, { weight: 1, arbitrary: value(undefined, depth + 1) });
}

function resolve(doc: any, s: Schema | undefined): Schema | undefined {
  if (!s?.$ref) return s;
  return doc.components.schemas[s.$ref.split('/').pop()!];
}

function operations(doc: any): Op[] {
  const ops: Op[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      // A stream stays open by design; its limits have tests of their own.
      if (Object.values<any>(op.responses ?? {}).some((r) => r.content?.['text/event-stream'])) continue;
      const params = (op.parameters ?? []) as Array<{ in: string; name: string; schema: Schema }>;
      ops.push({
        method: method.toUpperCase(), path: p,
        params: params.filter((x) => x.in === 'path').map((x) => x.name),
        query: Object.fromEntries(params.filter((x) => x.in === 'query').map((x) => [x.name, x.schema])),
        body: resolve(doc, op.requestBody?.content?.['application/json']?.schema) ?? null,
      });
    }
  }
  return ops;
}

describe('the API under generated requests', () => {
  let fleet: FakeFleet;
  let panel: TestPanel;
  let ops: Op[];
  let foreignIds: string[];
  let intruderToken: string;

  beforeAll(async () => {
    fleet = await startFakeFleet();
    panel = fleet.panel;
    const nodeId = fleet.addNode('fake1', { cpus: 8, memoryMb: 16384 });
    const plan = (await panel.api('POST', '/plans', { name: 'fuzz', cpus: 0.5, memoryMb: 256, diskMb: 512, pids: 64 })).body;
    const owner = (await panel.api('POST', '/customers', { name: 'Owner', email: 'owner@example.com' })).body;
    const intruder = (await panel.api('POST', '/customers', { name: 'Intruder', email: 'intruder@example.com' })).body;
    const ownerToken = (await panel.api('POST', `/customers/${owner.id}/tokens`, { name: 't' })).body;
    intruderToken = (await panel.api('POST', `/customers/${intruder.id}/tokens`, { name: 't' })).body.token;
    const created = (await panel.api('POST', '/environments', { name: 'site', templateId: 'web', planId: plan.id, customerId: owner.id })).body;
    expect((await waitOperation(panel, created.operation.id)).status).toBe('succeeded');
    foreignIds = [created.environment.id, owner.id, ownerToken.id, created.operation.id, plan.id, nodeId, 'web'];
    ops = operations((await panel.api('GET', '/openapi.json')).body);
    expect(ops.length).toBeGreaterThan(40);
  });
  afterAll(async () => fleet.close());

  it('never answers 5xx, never changes anything when it refuses, and never lets a customer reach another', async () => {
    const request = fc.integer({ min: 0, max: 10_000 }).chain((n) => {
      const op = ops[n % ops.length]!;
      return fc.record({
        op: fc.constant(op),
        who: fc.constantFrom('intruder', 'intruder', 'intruder', 'none', 'admin'),
        params: fc.tuple(...op.params.map(() => fc.oneof(fc.constantFrom(...foreignIds), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 12 })))),
        query: fc.dictionary(fc.constantFrom(...Object.keys(op.query), 'limit', 'cursor', 'x'), fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 10 })), { maxKeys: 3 }),
        body: op.body ? fc.option(value(op.body), { nil: undefined, freq: 8 }) : fc.option(value(undefined), { nil: undefined, freq: 2 }),
      });
    });
    await fc.assert(fc.asyncProperty(request, async ({ op, who, params, query, body }) => {
      let url = op.path;
      op.params.forEach((name, i) => { url = url.replace(`{${name}}`, encodeURIComponent(String(params[i]))); });
      const qs = new URLSearchParams(query as Record<string, string>).toString();
      const token = who === 'admin' ? ADMIN_TOKEN : who === 'intruder' ? intruderToken : null;
      // Long polls are bounded by the generated timeout; keep them short here.
      if (url.endsWith('/wait')) url += '?timeout=0';
      else if (qs) url += `?${qs}`;
      const before = databaseSnapshot(panel.ctx.repos.db);
      const res = await panel.api(op.method, url, body === undefined ? undefined : body, { token });
      const where = `${op.method} ${url} as ${who} with ${JSON.stringify(body)?.slice(0, 300)}`;
      expect(res.status, `${where} -> ${res.text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status >= 400) expect(databaseSnapshot(panel.ctx.repos.db), `${where} changed something`).toEqual(before);
      if (who === 'intruder' && params.some((p) => foreignIds.slice(0, 4).includes(String(p)))) {
        expect([400, 403, 404, 405, 409, 422, 429], `${where} reached another customer's resource: ${res.status}`).toContain(res.status);
      }
    }), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  });
});
