import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import type { Context } from '../../server/core/context.js';
import type { LabNode } from '../../server/lab/lab.js';
import { labNodes, labRunning, nodeBody } from './lab.js';
import { removeLabelledContainers } from '../../server/lab/containers.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** One image cache for the whole run, so the Debian template is built once. */
export const IMAGE_CACHE = process.env.KURA_IMAGE_CACHE ?? '/var/tmp/kura-image-cache';

export interface Reply {
  status: number;
  body: any;
  headers: Record<string, unknown>;
  text: string;
}

export interface TestPanel {
  app: FastifyInstance;
  ctx: Context;
  dataDir: string;
  api(method: string, url: string, body?: unknown, opts?: { token?: string | null; headers?: Record<string, string>; raw?: string }): Promise<Reply>;
  close(): Promise<void>;
}

/** A real panel in this process with its own data dir; requests go through fastify's inject. */
export async function startTestPanel(opts: { background?: boolean; dataDir?: string; templatesDir?: string; nodes?: AppDeps['nodes'];
  /** More settings, as environment variables (KURA_RATE_CUSTOMER_CONCURRENT, ...). */
  env?: Record<string, string> } = {}): Promise<TestPanel> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kura-test-'));
  const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: ADMIN_TOKEN, KURA_LOG_LEVEL: 'silent', KURA_IMAGE_CACHE: IMAGE_CACHE, KURA_EDGE: 'off',
    // Tests reach only loopback and the lab's namespaces: an import source elsewhere is refused before any connection.
    KURA_IMPORT_SOURCES: '127.0.0.0/8,10.231.0.0/16',
    ...(opts.templatesDir ? { KURA_TEMPLATES_DIR: opts.templatesDir } : {}), ...opts.env });
  const { app, ctx } = await buildApp({ config, background: opts.background ?? false, ...(opts.nodes ? { nodes: opts.nodes } : {}) });
  await app.ready();
  return {
    app, ctx, dataDir,
    async api(method, url, body, o = {}) {
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined = o.raw;
      if (body !== undefined && payload === undefined) {
        payload = JSON.stringify(body);
        headers['content-type'] ??= 'application/json';
      } else if (payload !== undefined) {
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.inject({ method: method as 'GET', url: `/api/v1${url}`, headers, ...(payload !== undefined ? { payload } : {}) });
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        parsed = null;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers, text: res.body };
    },
    async close() {
      await app.close();
      // The unit project has no lab, so a panel there made no containers.
      if (labRunning()) await removePanelContainers(ctx.panelId);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function registerNode(panel: TestPanel, node: LabNode, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await panel.api('POST', '/nodes', nodeBody(node, extra));
  if (res.status !== 201) throw new Error(`registering ${node.name} failed: ${res.status} ${res.text}`);
  return res.body.id as string;
}

export interface Seed {
  planId: string;
  customerId: string;
  customerToken: string;
}

/** A plan, a customer and that customer's token. */
export async function seedCustomer(panel: TestPanel, o: { plan?: Record<string, unknown>; email?: string; limits?: Record<string, unknown> } = {}): Promise<Seed> {
  const email = o.email ?? `c${Math.random().toString(36).slice(2, 10)}@example.com`;
  const planName = `plan-${Math.random().toString(36).slice(2, 8)}`;
  const plan = await panel.api('POST', '/plans', { name: planName, cpus: 0.5, memoryMb: 128, diskMb: 256, pids: 64, ...o.plan });
  if (plan.status !== 201) throw new Error(`plan: ${plan.text}`);
  const customer = await panel.api('POST', '/customers', { name: 'Test customer', email, ...(o.limits ? { limits: o.limits } : {}) });
  if (customer.status !== 201) throw new Error(`customer: ${customer.text}`);
  const token = await panel.api('POST', `/customers/${customer.body.id}/tokens`, { name: 'test' });
  return { planId: plan.body.id, customerId: customer.body.id, customerToken: token.body.token };
}

/** Creates an environment and waits for its provisioning to end; returns the environment as the API shows it. */
export async function createEnvironment(panel: TestPanel, body: Record<string, unknown>, opts: { token?: string } = {}): Promise<any> {
  const res = await panel.api('POST', '/environments', body, opts.token ? { token: opts.token } : {});
  if (res.status !== 202) throw new Error(`create: ${res.status} ${res.text}`);
  const op = await waitOperation(panel, res.body.operation.id);
  if (op.status !== 'succeeded') throw new Error(`provisioning failed: ${JSON.stringify(op)}`);
  return (await panel.api('GET', `/environments/${res.body.environment.id}`)).body;
}

export async function waitOperation(panel: TestPanel, id: string, timeoutS = 60): Promise<any> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const res = await panel.api('GET', `/operations/${id}/wait?timeout=${Math.min(60, timeoutS)}`);
    if (['succeeded', 'failed', 'cancelled'].includes(res.body?.status) || Date.now() > deadline) return res.body;
  }
}

/** Removes every container a test panel made on the lab nodes, so later files start clean. */
export async function removePanelContainers(panelId: string): Promise<void> {
  await removeLabelledContainers(labNodes(), `io.kura.panel=${panelId}`);
  await removeLabelledContainers(labNodes(), `io.kura.backup=${panelId}`);
}

export interface FleetPanel {
  panel: TestPanel;
  /** The lab nodes' ids, in lab order (lab1 first). */
  nodeIds: string[];
  seed: Seed;
}

/** A panel with its background work, every lab node registered, and a seeded customer. */
export async function startFleetPanel(o: { node?: Record<string, unknown>; seed?: Parameters<typeof seedCustomer>[1] } = {}): Promise<FleetPanel> {
  const panel = await startTestPanel({ background: true });
  const nodeIds: string[] = [];
  for (const n of labNodes()) nodeIds.push(await registerNode(panel, n, o.node));
  return { panel, nodeIds, seed: await seedCustomer(panel, o.seed) };
}
