import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseSnapshot } from '../helpers/snapshot.js';
import { docker, labNode, nodeBody } from '../helpers/lab.js';
import { ADMIN_TOKEN, createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Reply, type TestPanel } from '../helpers/panel.js';

// "Bad input is refused": every endpoint gets malformed, mistyped, out-of-range, unknown and hostile
// input; each answer is a 4xx in the contract's error shape and nothing changes (database or node).

/** Ids and values made in beforeAll; `{name}` placeholders in urls and bodies are filled from here. */
const fx: Record<string, any> = {};
let panel: TestPanel;

interface Case {
  title: string;
  method: string;
  url: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** null: no token from the helper; the Authorization header, if any, comes from `headers`. */
  auth?: 'admin' | 'customer' | null;
  status: number | number[];
  field?: string;
  message?: RegExp;
  /** GET bodies are ignored by HTTP servers: only "never 5xx and nothing changes" is asserted. */
  tolerate?: true;
}

const CODE: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict' };
const HOSTILE = ['../../etc/passwd', '..%2f..%2f', '/etc/passwd', 'a\u0000b', 'x'.repeat(5000), '<script>alert(1)</script>', '$(reboot)', ';rm -rf /'];
const NOT_STRINGS = [123, true, null, [], {}];
const NOT_NUMBERS = ['1', true, null, [], {}];
const MISSING = Symbol('missing');

const fill = (v: unknown): any => {
  if (typeof v === 'string') {
    const whole = /^\{(\w+)\}$/.exec(v);
    if (whole && typeof fx[whole[1]!] === 'object') return fx[whole[1]!];
    return v.replace(/\{(\w+)\}/g, (m, k: string) => (typeof fx[k] === 'string' ? fx[k] : m));
  }
  if (Array.isArray(v)) return v.map(fill);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
  return v;
};
const label = (v: unknown) => (v === MISSING ? '(missing)' : typeof v === 'string' ? JSON.stringify(v.length > 24 ? `${v.slice(0, 12)}...(${v.length})` : v) : JSON.stringify(v));

function withField(base: unknown, dotted: string, value: unknown): unknown {
  const copy = structuredClone(fill(base));
  const keys = dotted.split('.');
  let at = copy;
  for (const k of keys.slice(0, -1)) at = at[k];
  if (value === MISSING) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
  return copy;
}

// ---- what "nothing changed" means: every table's rows and the node's containers ----
function snapshot(): Record<string, unknown[]> {
  return databaseSnapshot(panel.ctx.repos.db);
}
/** Ids of this panel's containers on the lab node (other test runs share the lab and come and go). */
async function containers(): Promise<Set<string>> {
  const out = await docker(labNode(1), 'ps', '-aq', '--no-trunc', '--filter', `label=io.kura.panel=${panel.ctx.panelId}`);
  return new Set(out.split('\n').filter(Boolean));
}

async function send(c: Case): Promise<Reply> {
  const body = c.raw !== undefined ? undefined : typeof c.body === 'function' ? (c.body as () => unknown)() : fill(c.body);
  const token = c.auth === undefined || c.auth === 'admin' ? ADMIN_TOKEN : c.auth === 'customer' ? fx.customerToken as string : null;
  return panel.api(c.method, fill(c.url), body, { token, headers: fill(c.headers ?? {}), raw: c.raw });
}

function expectErrorShape(res: Reply, c: Case): void {
  const ctx = `${c.method} ${fill(c.url).slice(0, 120)} -> ${res.status} ${res.text.slice(0, 300)}`;
  const statuses = ([] as number[]).concat(c.status);
  expect(statuses, ctx).toContain(res.status);
  expect(String(res.headers['content-type']), ctx).toMatch(/^application\/json/);
  expect(res.body, ctx).toMatchObject({ error: { code: CODE[res.status], message: expect.any(String) } });
  expect(Object.keys(res.body), ctx).toEqual(['error']);
  expect(Object.keys(res.body.error).every((k) => ['code', 'message', 'details'].includes(k)), ctx).toBe(true);
  expect(res.body.error.message.length, ctx).toBeGreaterThan(0);
  expect(res.body.error.message, ctx).not.toMatch(/\n\s+at /);
  if (c.field !== undefined) expect(res.body.error.details?.field, ctx).toBe(c.field);
  if (c.message) expect(res.body.error.message, ctx).toMatch(c.message);
}

async function refusedWithoutChange(c: Case): Promise<void> {
  const [rows, ctrs] = [snapshot(), await containers()];
  const res = await send(c);
  // A wrongly accepted request that started work: let that work land inside this case, not the next one.
  if (res.status === 202 && res.body?.operation?.id) await waitOperation(panel, res.body.operation.id);
  if (c.tolerate) {
    expect(res.status, `${c.method} ${fill(c.url).slice(0, 120)} -> ${res.text.slice(0, 200)}`).toBeLessThan(500);
    if (res.status >= 400) expectErrorShape(res, { ...c, status: res.status });
  } else {
    expectErrorShape(res, c);
  }
  expect(snapshot(), `${c.title} changed the database`).toEqual(rows);
  // No container appeared. (A removal or a stop this panel made shows in the database above; the lab's
  // containers can also vanish when another test run's global setup clears the shared lab.)
  expect([...await containers()].filter((id) => !ctrs.has(id)), `${c.title} created a container`).toEqual([]);
}

// ---- every route, with a body that would be valid, so that only the tested part is bad ----
const FRESH = {
  node: { name: 'fresh-node', endpoint: '{endpoint}', tls: '{tls}' },
  plan: { name: 'fresh-plan', cpus: 1, memoryMb: 64, swapMb: 0, diskMb: 128, pids: 32 },
  customer: { name: 'Fresh', email: 'fresh@example.com', password: 'correct horse', limits: { environments: 1, cpus: 1, memoryMb: 128, diskMb: 256 } },
  env: { name: 'fresh-env', templateId: 'static-site', planId: '{plan}', customerId: '{customer}', nodeId: '{node}' },
};
type Route = [method: string, url: string, body?: unknown];
const ROUTES: Route[] = [
  ['POST', '/nodes', FRESH.node], ['GET', '/nodes'], ['GET', '/nodes/{node}'], ['PATCH', '/nodes/{node}', { state: 'maintenance' }],
  ['DELETE', '/nodes/{spareNode}'], ['GET', '/templates'], ['GET', '/templates/static-site'],
  ['POST', '/plans', FRESH.plan], ['GET', '/plans'], ['GET', '/plans/{plan}'], ['PATCH', '/plans/{plan}', { name: 'renamed' }], ['DELETE', '/plans/{sparePlan}'],
  ['POST', '/customers', FRESH.customer], ['GET', '/customers'], ['GET', '/customers/{customer}'], ['PATCH', '/customers/{customer}', { name: 'Renamed' }],
  ['POST', '/customers/{spareCustomer}/suspend'], ['POST', '/customers/{spareCustomer}/resume'],
  ['POST', '/customers/{customer}/tokens', { name: 'fresh-token' }], ['GET', '/customers/{customer}/tokens'], ['DELETE', '/tokens/{spareToken}'],
  ['POST', '/environments', FRESH.env], ['GET', '/environments'], ['GET', '/environments/{env}'], ['PATCH', '/environments/{env}', { planId: '{plan2}' }],
  ['DELETE', '/environments/{spareEnv}'], ['POST', '/environments/{env}/actions', { action: 'restart' }],
  ['GET', '/environments/{env}/stats'], ['GET', '/environments/{env}/logs'],
  ['GET', '/operations'], ['GET', '/operations/{op}'], ['GET', '/operations/{op}/wait?timeout=0'], ['GET', '/events'],
];
const key = (r: Route) => `${r[0]} ${r[1]}`;

// ---- bodies: field by field ----
const SLUG = [...NOT_STRINGS, '', 'UPPER', '-lead', 'trail-', 'a'.repeat(64), ...HOSTILE];
// Free-text names (plans, customers, tokens) may legitimately read "<script>" or "$(reboot)": they are data, never
// interpreted. What is refused there is control characters, wrong types and excess length.
const TEXT = (max: number) => [...NOT_STRINGS, '', 'a\u0000b', 'tab\there', 'new\nline', 'x'.repeat(max + 1)];
const REF = [...NOT_STRINGS, '', ...HOSTILE, 'x'.repeat(65)];
const EMAIL = [...NOT_STRINGS, '', ...HOSTILE, 'a@b', '<script>@x.com', '$(reboot)@x.com', 'a;rm -rf /@x.com'];
const num = (...bad: number[]) => [...NOT_NUMBERS, ...bad];
const limit = (...bad: number[]) => ['1', true, [], {}, ...bad]; // null means "no limit" there
const PLAN_FIELDS = {
  name: TEXT(100), cpus: num(0, -1, -0.5, 1025, 1e9), memoryMb: num(15, 0, -16, 16.5, 16 * 1048576 + 1),
  swapMb: num(-1, 0.5, 16 * 1048576 + 1), diskMb: num(63, 0, -64, 64.5, 2 ** 30 + 1), pids: num(15, 0, -1, 16.5, 4194305),
};
const CUSTOMER_FIELDS = {
  name: TEXT(200), email: EMAIL, password: [123, true, null, 'short', 'x'.repeat(1025)], limits: ['x', [], null, 1],
  'limits.environments': limit(-1, 1.5, 100001), 'limits.cpus': limit(-0.1, 100001),
  'limits.memoryMb': limit(-1, 1.5, 2 ** 30 + 1), 'limits.diskMb': limit(-1, 1.5, 2 ** 30 + 1),
};
const PEM = [...NOT_STRINGS, '', ...HOSTILE, 'x'.repeat(20001)];
interface BodySpec { route: Route; required: string[]; fields: Record<string, unknown[]>; nested?: string[] }
const BODIES: BodySpec[] = [
  { route: ['POST', '/nodes', FRESH.node], required: ['name', 'endpoint'], nested: ['tls'], fields: {
    name: SLUG, endpoint: [...NOT_STRINGS, '', ...HOSTILE, 'http://10.0.0.1:2376', 'tcp://host', 'tcp://h:0', 'tcp://h:99999', 'unix://relative', 'x'.repeat(301)],
    tls: ['pem', [], null, 1], 'tls.ca': PEM, 'tls.cert': PEM, 'tls.key': PEM, publicHost: [...NOT_STRINGS, '', ...HOSTILE, 'a b'],
    maxEnvironments: num(0, -1, 1.5, 10001), allowUnenforcedDisk: ['true', 1, null, [], {}] } },
  { route: ['PATCH', '/nodes/{node}', {}], required: [], fields: { state: [...NOT_STRINGS, 'bogus', 'ACTIVE', ...HOSTILE], maxEnvironments: num(0, 10001, 2.5), publicHost: [...NOT_STRINGS, ...HOSTILE] } },
  { route: ['POST', '/plans', FRESH.plan], required: ['name', 'cpus', 'memoryMb', 'diskMb', 'pids'], fields: PLAN_FIELDS },
  { route: ['PATCH', '/plans/{plan}', {}], required: [], fields: PLAN_FIELDS },
  { route: ['POST', '/customers', FRESH.customer], required: ['name', 'email'], nested: ['limits'], fields: CUSTOMER_FIELDS },
  { route: ['PATCH', '/customers/{customer}', {}], required: [], fields: Object.fromEntries(Object.entries(CUSTOMER_FIELDS).filter(([k]) => !k.includes('.'))) },
  { route: ['POST', '/customers/{customer}/tokens', { name: 'fresh-token' }], required: ['name'], fields: { name: TEXT(100) } },
  { route: ['POST', '/environments', FRESH.env], required: ['name', 'templateId', 'planId'], fields: { name: SLUG, templateId: REF, planId: REF, customerId: REF, nodeId: REF } },
  { route: ['POST', '/environments/{env}/actions', { action: 'restart' }], required: ['action'], fields: { action: [...NOT_STRINGS, '', 'START', 'reboot', 'delete', ...HOSTILE] } },
  { route: ['PATCH', '/environments/{env}', { planId: '{plan2}' }], required: ['planId'], fields: { planId: REF } },
];
const MALFORMED = ['{', '{"name":', "{'name':'x'}", '{"a":1,}', 'nul', '{"__proto__":{"admin":true}}'];
const NOT_OBJECTS = ['[]', '[{"name":"x"}]', '"text"', 'null', '42', 'true'];

function bodyCases(): Case[] {
  return BODIES.flatMap(({ route: [method, url, base], required, fields, nested = [] }) => {
    const at = `${method} ${url}`;
    const c = (title: string, extra: Partial<Case>): Case => ({ title: `${at} ${title}`, method, url, status: 400, ...extra });
    const emptyPatch = method === 'PATCH' && Object.keys(base as object).length === 0;
    return [
      ...MALFORMED.map((raw) => c(`malformed ${raw}`, { raw })),
      ...NOT_OBJECTS.map((raw) => c(`non-object ${raw}`, { raw, field: '(body)' })),
      c('form-encoded', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400 }),
      c('over 1 MiB', { raw: JSON.stringify({ name: 'x'.repeat(1_100_000) }), status: 400 }),
      ...(emptyPatch ? [c('empty object', { body: {}, field: '(body)' })] : []),
      c('unknown field', { body: () => withField(base, 'extra', 1), field: 'extra' }),
      ...nested.map((n) => c(`unknown field ${n}.extra`, { body: () => withField(base, `${n}.extra`, 1), field: `${n}.extra` })),
      ...required.map((f) => c(`missing ${f}`, { body: () => withField(base, f, MISSING), field: f })),
      ...Object.entries(fields).flatMap(([f, bads]) => bads.map((v) => c(`${f}=${label(v)}`, { body: () => withField(base, f, v), field: f }))),
    ];
  });
}

const SPECIAL_BODIES: Case[] = [
  { title: 'POST /plans cpus as JSON number 1e400', method: 'POST', url: '/plans', raw: '{"name":"p","cpus":1e400,"memoryMb":64,"diskMb":128,"pids":32}', status: 400, field: 'cpus' },
  { title: 'POST /environments customerId missing with an admin token', method: 'POST', url: '/environments', body: () => withField(FRESH.env, 'customerId', MISSING), status: 400, field: 'customerId' },
  ...[['templateId', 'no-such-template'], ['planId', 'plan_00000000000000000000'], ['customerId', 'cus_00000000000000000000'], ['nodeId', 'node_00000000000000000000']]
    .map(([f, v]): Case => ({ title: `POST /environments ${f} that does not exist`, method: 'POST', url: '/environments', body: () => withField(FRESH.env, f!, v), status: 400, field: f })),
  { title: 'PATCH /environments planId that does not exist', method: 'PATCH', url: '/environments/{env}', body: { planId: 'plan_00000000000000000000' }, status: 400, field: 'planId' },
  { title: 'POST /environments nodeId with a customer token', method: 'POST', url: '/environments', body: () => withField(FRESH.env, 'customerId', MISSING), auth: 'customer', status: 403 },
];

// ---- query strings ----
const enc = (vs: string[]) => vs.map(encodeURIComponent);
const LIMITS = ['0', '501', '-1', 'abc', '1.5', '', '1&limit=2', ...enc(['$(reboot)', ';rm -rf /'])];
const CURSORS = ['', ...enc([...HOSTILE, "' OR 1=1--", 'node_../../../../../etc'])];
function queryCases(): Case[] {
  const q = (url: string, param: string, values: string[]) => values.map((v): Case =>
    ({ title: `GET ${url} ${param}=${v.slice(0, 30)}`, method: 'GET', url: `${url}${url.includes('?') ? '&' : '?'}${param}=${v}`, status: 400, field: param }));
  return [
    ...['/nodes', '/plans', '/customers', '/environments', '/operations'].flatMap((u) => [...q(u, 'limit', LIMITS), ...q(u, 'cursor', CURSORS)]),
    ...['customerId', 'nodeId'].flatMap((p) => q('/environments', p, ['', ...enc(HOSTILE)])),
    ...q('/environments', 'state', ['bogus', 'RUNNING', ...enc(HOSTILE)]),
    ...q('/operations', 'resourceId', ['', 'x'.repeat(65)]),
    ...q('/operations/{op}/wait', 'timeout', ['61', '-1', 'abc', '1e9', 'Infinity', ...enc(['$(reboot)', ';rm -rf /'])]),
    ...q('/environments/{env}/logs', 'tail', ['0', '10001', '-5', 'abc', '1.5', ...enc(['$(reboot)', ';rm -rf /', '../../etc/passwd'])]),
  ];
}

// ---- path parameters: hostile ids answer 404 (or 400 for an over-long id) ----
const HOSTILE_IDS: [string, number | number[], string?][] = [
  ['..%2f..%2fetc%2fpasswd', 404], ['%2Fetc%2Fpasswd', 404], ['..%252f..%252f', 404], ['a%00b', 404],
  ['%3Cscript%3Ealert(1)%3C%2Fscript%3E', 404], ['%24(reboot)', 404], ['%3Brm%20-rf%20%2F', 404], ["'%20OR%20'1'%3D'1", 404],
  ['env_00000000000000000000', 404], ['../../etc/passwd', 404], ['x'.repeat(65), 400, 'id'],
  ['x'.repeat(5000), [400, 404]], ['%zz', [400, 404]], ['%E0%A4%A', [400, 404]],
];
function pathCases(): Case[] {
  return ROUTES.filter(([, url]) => /\{\w+\}/.test(url) || url === '/templates/static-site').flatMap(([method, url, body]) => HOSTILE_IDS.map(([id, status, field]): Case => ({
    title: `${method} ${url} with id ${id.slice(0, 30)}${id.length > 30 ? `...(${id.length})` : ''}`, method, body, status, field,
    url: url === '/templates/static-site' ? `/templates/${id}` : url.replace(/\{\w+\}/, id),
  })));
}

// ---- headers ----
const BAD_KEYS = ['', 'a b', 'k\u00e9y', 'tab\there', 'x'.repeat(256), '$(reboot) ;rm -rf /'];
const POSTS = ROUTES.filter(([m, u]) => m === 'POST' && u !== '/events');
const idempotencyCases = (): Case[] => [
  ...POSTS.flatMap(([method, url, body]) => BAD_KEYS.map((k): Case => ({
    title: `${method} ${url} Idempotency-Key ${label(k)}`, method, url, body, headers: { 'idempotency-key': k }, status: 400, field: 'Idempotency-Key' }))),
  { title: 'a valid key with a bad body stores nothing', method: 'POST', url: '/plans', body: { ...FRESH.plan, cpus: 0 }, headers: { 'idempotency-key': 'valid-key-1' }, status: 400, field: 'cpus' },
];
const AUTHS: [string, string | null][] = [
  ['no Authorization', null], ['Basic', 'Basic dXNlcjpwYXNzd29yZA=='], ['Bearer without token', 'Bearer'], ['short token', 'Bearer short'],
  ['unknown token', `Bearer ${'z'.repeat(40)}`], ['token without Bearer', ADMIN_TOKEN], ['revoked token', 'Bearer {revokedToken}'],
  ['hostile token', 'Bearer $(reboot);rm-rf/../../etc/passwd'],
];
const authCases = (): Case[] => ROUTES.flatMap(([method, url, body]) => AUTHS.map(([name, header]): Case => ({
  title: `${method} ${url} ${name}`, method, url, body, status: 401, auth: null, headers: header === null ? {} : { authorization: header } })));
const ADMIN_ONLY = ['POST /nodes', 'GET /nodes', 'GET /nodes/{node}', 'PATCH /nodes/{node}', 'DELETE /nodes/{spareNode}', 'POST /plans', 'PATCH /plans/{plan}',
  'DELETE /plans/{sparePlan}', 'GET /customers', 'POST /customers', 'PATCH /customers/{customer}', 'POST /customers/{spareCustomer}/suspend',
  'POST /customers/{spareCustomer}/resume', 'POST /customers/{customer}/suspend'];
const forbiddenCases = (): Case[] => [...ROUTES, ['POST', '/customers/{customer}/suspend'] as Route].filter((r) => ADMIN_ONLY.includes(key(r)))
  .map(([method, url, body]): Case => ({ title: `${method} ${url} with a customer token`, method, url, body, auth: 'customer', status: 403 }));

// Endpoints that take no body: a body there is input the endpoint does not accept.
const BODILESS = ROUTES.filter(([m, , b]) => m !== 'GET' && b === undefined);
const bodilessCases = (): Case[] => BODILESS.flatMap(([method, url]) => ['{"oops"', ...NOT_OBJECTS.slice(0, 4), '{"force":true}']
  .map((raw): Case => ({ title: `${method} ${url} with body ${raw}`, method, url, raw, status: 400 })));
const getBodyCases = (): Case[] => ROUTES.filter(([m, u]) => m === 'GET' && u !== '/events').flatMap(([method, url]) => ['{bad', '[1]']
  .map((raw): Case => ({ title: `${method} ${url} with body ${raw}`, method, url, raw, status: 400, tolerate: true })));

describe('Bad input is refused', () => {
  beforeAll(async () => {
    // Some 1,500 requests from one address in about a minute: the request limits have tests of their own
    // (tests/api/rate-limits.test.ts), so here they are set high enough never to answer first.
    panel = await startTestPanel({ env: { KURA_RATE_ANONYMOUS_PER_SECOND: '100000', KURA_RATE_ANONYMOUS_CONCURRENT: '10000',
      KURA_RATE_CUSTOMER_PER_SECOND: '100000', KURA_RATE_CUSTOMER_CONCURRENT: '10000',
      KURA_RATE_ADMIN_PER_SECOND: '100000', KURA_RATE_ADMIN_CONCURRENT: '10000' } });
    const lab = labNode(1);
    Object.assign(fx, { endpoint: lab.endpoint, tls: nodeBody(lab).tls });
    fx.node = await registerNode(panel, lab);
    fx.spareNode = await registerNode(panel, lab, { name: 'spare-node' });
    const seed = await seedCustomer(panel);
    Object.assign(fx, { plan: seed.planId, customer: seed.customerId, customerToken: seed.customerToken });
    fx.plan2 = (await panel.api('POST', '/plans', { ...FRESH.plan, name: 'plan-2', memoryMb: 192, diskMb: 256 })).body.id;
    fx.sparePlan = (await panel.api('POST', '/plans', { ...FRESH.plan, name: 'spare-plan' })).body.id;
    fx.spareCustomer = (await panel.api('POST', '/customers', { name: 'Spare', email: 'spare@example.com' })).body.id;
    fx.spareToken = (await panel.api('POST', `/customers/${fx.spareCustomer}/tokens`, { name: 'spare' })).body.id;
    const revoked = (await panel.api('POST', `/customers/${fx.spareCustomer}/tokens`, { name: 'revoked' })).body;
    expect((await panel.api('DELETE', `/tokens/${revoked.id}`)).status).toBe(204);
    fx.revokedToken = revoked.token;
    const env = await createEnvironment(panel, { name: 'target', templateId: 'static-site', planId: fx.plan, customerId: fx.customer, nodeId: fx.node });
    fx.env = env.id;
    fx.op = (await panel.api('GET', `/operations?resourceId=${env.id}`)).body.items[0].id;
    fx.spareEnv = (await createEnvironment(panel, { name: 'spare', templateId: 'static-site', planId: fx.plan, customerId: fx.customer, nodeId: fx.node })).id;
  });
  afterAll(async () => {
    for (const id of [fx.env, fx.spareEnv]) {
      const del = await panel.api('DELETE', `/environments/${id}`);
      if (del.status === 202) await panel.api('GET', `/operations/${del.body.operation.id}/wait?timeout=60`);
    }
    await panel.close();
  });

  describe('bodies: malformed, not an object, unknown or missing fields, wrong types, out of range, hostile strings', () => {
    for (const c of [...bodyCases(), ...SPECIAL_BODIES]) it(c.title, () => refusedWithoutChange(c));
  });
  describe('query strings: limits, cursors, filters, wait timeout, log tail', () => {
    for (const c of queryCases()) it(c.title, () => refusedWithoutChange(c));
    it.each(['%00', encodeURIComponent('../../etc/passwd'), encodeURIComponent('$(reboot)')])('GET /operations?resourceId=%s only narrows the list', async (v) => {
      const rows = snapshot();
      const res = await panel.api('GET', `/operations?resourceId=${v}`);
      expect(res.status < 500 && (res.status >= 400 || res.body.items.length === 0), res.text).toBe(true);
      expect(snapshot()).toEqual(rows);
    });
  });
  describe('path parameters', () => {
    for (const c of pathCases()) it(c.title, () => refusedWithoutChange(c));
  });
  describe('Idempotency-Key values', () => {
    for (const c of idempotencyCases()) it(c.title, () => refusedWithoutChange(c));
  });
  describe('Authorization: missing or garbage is 401', () => {
    for (const c of authCases()) it(c.title, () => refusedWithoutChange(c));
  });
  describe('a customer token on admin-only endpoints is 403', () => {
    for (const c of forbiddenCases()) it(c.title, () => refusedWithoutChange(c));
  });
  describe('bodies sent to endpoints that take none', () => {
    for (const c of bodilessCases()) it(c.title, () => refusedWithoutChange(c));
    for (const c of getBodyCases()) it(`${c.title} is ignored, never a 5xx`, () => refusedWithoutChange(c));
  });

  describe('node registration that cannot work', () => {
    let certs: Record<'ca' | 'cert' | 'key', string>;
    beforeAll(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-throwaway-ca-'));
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=throwaway-ca');
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=throwaway-client');
      fs.writeFileSync(path.join(dir, 'ext.cnf'), 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'ext.cnf');
      const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
      certs = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const reg = (title: string, body: () => unknown, field: string, message: RegExp): Case =>
      ({ title, method: 'POST', url: '/nodes', body, status: 400, field, message });
    const cases = [
      reg('an unreachable endpoint (tcp://127.0.0.1:1 with the lab TLS files)', () => ({ ...fill(FRESH.node), endpoint: 'tcp://127.0.0.1:1' }), 'endpoint', /refused|unreachable|ECONNREFUSED/i),
      reg('the lab node with a throwaway CA and client certificate', () => ({ ...fill(FRESH.node), tls: certs }), 'tls', /TLS/),
      reg('the lab node with the right CA but a throwaway client certificate', () => ({ ...fill(FRESH.node), tls: { ...fx.tls, cert: certs.cert, key: certs.key } }), 'tls', /TLS/),
      reg('a tcp endpoint without tls', () => ({ name: 'fresh-node', endpoint: fx.endpoint }), 'tls', /tls/i),
      reg('a unix socket that is not a Docker engine', () => ({ name: 'fresh-node', endpoint: 'unix:///etc/passwd' }), 'endpoint', /could not register/),
    ];
    for (const c of cases) it(c.title, () => refusedWithoutChange(c));
  });
});
