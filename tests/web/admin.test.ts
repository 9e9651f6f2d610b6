import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';
import type { EnvironmentState } from '../../server/domain/types.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

const ADMIN_EMAIL = 'admin@kura.example';
const ADMIN_PASSWORD = 'admin-password-1';
const PAGES = ['/admin/plans', '/admin/plans/new', '/admin/customers', '/admin/customers/new', '/admin/templates',
  '/admin/environments', '/admin/environments/new', '/admin/operations', '/admin/audit'];

describe('admin console pages: plans, customers, templates, environments, operations, audit', () => {
  let panel: TestPanel;
  let admin: WebClient;
  let customer: WebClient;
  let customerId: string;

  beforeAll(async () => {
    panel = await startTestPanel();
    panel.ctx.repos.admins.insert(newId('adm'), ADMIN_EMAIL, await hashPassword(ADMIN_PASSWORD), nowIso());
    const c = await panel.api('POST', '/customers', { name: 'Shop Owner', email: 'owner@kura.example', password: 'owner-password-1' });
    customerId = c.body.id;
    admin = new WebClient(panel);
    expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).headers.location).toBe('/admin');
    customer = new WebClient(panel);
    expect((await customer.login('owner@kura.example', 'owner-password-1')).statusCode).toBe(303);
  });
  afterAll(async () => panel.close());

  const planCount = () => panel.ctx.repos.plans.page('', 1000).length;

  it('renders every page for the admin and answers a customer 404', async () => {
    const template = panel.ctx.templates.list()[0]!;
    for (const url of [...PAGES, `/admin/customers/${customerId}`, `/admin/templates/${template.id}`]) {
      const res = await admin.page(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toContain('<main');
      expect((await customer.get(url)).statusCode, url).toBe(404);
    }
    const tpl = await admin.page(`/admin/templates/${template.id}`);
    expect(tpl.body).toContain(template.name);
    expect(tpl.body).toContain(template.version);
    expect((await admin.get('/admin/templates/no-such-template')).statusCode).toBe(404);
  });

  it('refuses a plan outside the API bounds with 400, an error and nothing created', async () => {
    await admin.page('/admin/plans/new');
    const before = planCount();
    for (const bad of [{ cpus: '0' }, { cpus: '2000' }, { memoryMb: '8' }, { diskMb: '10' }, { pids: '1' }, { cpus: 'lots' }]) {
      const res = await admin.post('/admin/plans', { name: 'too-much', cpus: '1', memoryMb: '512', diskMb: '1024', pids: '128', ...bad });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.body).toContain('alert-error');
      expect(res.body).toContain('value="too-much"');
    }
    expect(planCount()).toBe(before);
  });

  it('creates a plan and edits it with PATCH semantics', async () => {
    await admin.page('/admin/plans/new');
    const created = await admin.post('/admin/plans', { name: 'small', cpus: '0.5', memoryMb: '256', swapMb: '', diskMb: '1024', pids: '128' });
    expect(created.statusCode).toBe(303);
    const plan = panel.ctx.repos.plans.byName('small')!;
    expect(plan).toMatchObject({ cpus: 0.5, memoryMb: 256, swapMb: 0, diskMb: 1024, pids: 128 });
    const list = await admin.page('/admin/plans');
    expect(list.body).toContain(`href="/admin/plans/${plan.id}"`);

    await admin.page(`/admin/plans/${plan.id}`);
    const edited = await admin.post(`/admin/plans/${plan.id}`, { name: 'small-plus', cpus: '1', memoryMb: '512', swapMb: '', diskMb: '1024', pids: '128' });
    expect(edited.statusCode).toBe(303);
    expect(panel.ctx.repos.plans.get(plan.id)).toMatchObject({ name: 'small-plus', cpus: 1, memoryMb: 512, swapMb: 0 });

    const bad = await admin.post(`/admin/plans/${plan.id}`, { name: 'small-plus', cpus: '1', memoryMb: '99999999999', diskMb: '1024', pids: '128' });
    expect(bad.statusCode).toBe(400);
    expect(panel.ctx.repos.plans.get(plan.id)!.memoryMb).toBe(512);
  });

  it('marks a plan selectable for customers, and turns a customer\'s self-service off and on', async () => {
    await admin.page('/admin/plans/new');
    expect((await admin.post('/admin/plans', { name: 'choosable', cpus: '1', memoryMb: '512', diskMb: '1024', pids: '128', selectable: 'on' })).statusCode).toBe(303);
    const plan = panel.ctx.repos.plans.byName('choosable')!;
    expect(plan.selectable).toBe(true);
    expect((await admin.page('/admin/plans')).body).toContain('✓');
    const form = await admin.page(`/admin/plans/${plan.id}`);
    expect(form.body).toMatch(/name="selectable" data-testid="selectable" checked/);
    // An unticked box is "no": the form always says.
    await admin.post(`/admin/plans/${plan.id}`, { name: 'choosable', cpus: '1', memoryMb: '512', diskMb: '1024', pids: '128' });
    expect(panel.ctx.repos.plans.get(plan.id)!.selectable).toBe(false);

    const c = panel.ctx.repos.customers.get(customerId)!;
    expect(c.selfService).toBe(true);
    await admin.page(`/admin/customers/${customerId}`);
    const off = await admin.post(`/admin/customers/${customerId}`, { name: c.name, email: c.email });
    expect(off.statusCode).toBe(303);
    expect(panel.ctx.repos.customers.get(customerId)!.selfService).toBe(false);
    await admin.page(`/admin/customers/${customerId}`);
    await admin.post(`/admin/customers/${customerId}`, { name: c.name, email: c.email, selfService: 'on' });
    expect(panel.ctx.repos.customers.get(customerId)!.selfService).toBe(true);
  });

  it('creates a customer with limits, searches for them and edits them', async () => {
    await admin.page('/admin/customers/new');
    const invalid = await admin.post('/admin/customers', { name: 'Bad', email: 'not-an-email' });
    expect(invalid.statusCode).toBe(400);
    expect(panel.ctx.repos.customers.byEmail('not-an-email')).toBeUndefined();

    const res = await admin.post('/admin/customers', { name: 'Café <Tokyo>', email: 'cafe@kura.example', password: '', limitEnvironments: '3',
      limitCpus: '', limitMemoryMb: '2048', limitDiskMb: '' });
    expect(res.statusCode).toBe(303);
    const cafe = panel.ctx.repos.customers.byEmail('cafe@kura.example')!;
    expect(res.headers.location).toBe(`/admin/customers/${cafe.id}`);
    expect(cafe.limits).toEqual({ environments: 3, cpus: null, memoryMb: 2048, diskMb: null });
    expect(cafe.passwordHash).toBeNull();

    const found = await admin.page('/admin/customers?q=cafe@');
    expect(found.body).toContain('Café &lt;Tokyo&gt;');
    expect(found.body).not.toContain('Shop Owner');
    expect((await admin.page('/admin/customers?q=%25')).body).toContain('No customer matches');

    await admin.page(`/admin/customers/${cafe.id}`);
    const edit = await admin.post(`/admin/customers/${cafe.id}`, { name: 'Café Tokyo', email: 'cafe@kura.example', limitEnvironments: '',
      limitCpus: '2', limitMemoryMb: '2048', limitDiskMb: '' });
    expect(edit.statusCode).toBe(303);
    expect(panel.ctx.repos.customers.get(cafe.id)).toMatchObject({ name: 'Café Tokyo', limits: { environments: null, cpus: 2, memoryMb: 2048 } });
    const taken = await admin.post(`/admin/customers/${cafe.id}`, { name: 'Café Tokyo', email: 'owner@kura.example' });
    expect(taken.statusCode).toBe(409);
    expect(panel.ctx.repos.customers.get(cafe.id)!.email).toBe('cafe@kura.example');
  });

  it('suspends (with a confirmation) and resumes a customer', async () => {
    const page = await admin.page(`/admin/customers/${customerId}`);
    expect(page.body).toMatch(/action="\/admin\/customers\/[^"]+\/suspend"[^>]*data-confirm=/);
    expect((await admin.post(`/admin/customers/${customerId}/suspend`, {})).statusCode).toBe(303);
    expect(panel.ctx.repos.customers.get(customerId)!.status).toBe('suspended');
    expect((await admin.page(`/admin/customers/${customerId}`)).body).toContain('data-testid="resume"');
    expect((await admin.post(`/admin/customers/${customerId}/resume`, {})).statusCode).toBe(303);
    expect(panel.ctx.repos.customers.get(customerId)!.status).toBe('active');
  });

  it('resets a customer password: the old one stops working and the new one logs in', async () => {
    await admin.page(`/admin/customers/${customerId}`);
    const mismatch = await admin.post(`/admin/customers/${customerId}/password`, { password: 'brand-new-pass-1', confirm: 'brand-new-pass-2' });
    expect(mismatch.statusCode).toBe(400);
    const short = await admin.post(`/admin/customers/${customerId}/password`, { password: 'short', confirm: 'short' });
    expect(short.statusCode).toBe(400);
    const ok = await admin.post(`/admin/customers/${customerId}/password`, { password: 'brand-new-pass-1', confirm: 'brand-new-pass-1' });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('alert-ok');
    expect((await new WebClient(panel).login('owner@kura.example', 'owner-password-1')).statusCode).toBe(401);
    expect((await new WebClient(panel).login('owner@kura.example', 'brand-new-pass-1')).statusCode).toBe(303);
    // The customer's earlier session ended with the reset.
    expect((await customer.get('/panel')).statusCode).toBe(303);
    expect((await customer.login('owner@kura.example', 'brand-new-pass-1')).statusCode).toBe(303);
  });

  it('shows a one-time invitation link that sets the password once', async () => {
    const invited = await panel.api('POST', '/customers', { name: 'Invited', email: 'invited@kura.example' });
    await admin.page(`/admin/customers/${invited.body.id}`);
    const res = await admin.post(`/admin/customers/${invited.body.id}/invite`, {});
    expect(res.statusCode).toBe(201);
    const link = /data-testid="invite-link">([^<]+)</.exec(res.body)![1]!;
    const token = /\/invite\/([A-Za-z0-9_-]{43})$/.exec(link)![1]!;
    expect(link).toMatch(/^http:\/\/localhost(:\d+)?\/invite\//);
    expect((await admin.page(`/admin/customers/${invited.body.id}`)).body).not.toContain(token);

    const guest = new WebClient(panel);
    expect((await guest.page(`/invite/${token}`)).statusCode).toBe(200);
    const accepted = await guest.post(`/invite/${token}`, { password: 'invited-pass-1', confirm: 'invited-pass-1' });
    expect(accepted.statusCode).toBe(303);
    expect((await guest.get(`/invite/${token}`)).statusCode).toBe(404);
    const again = await guest.post(`/invite/${token}`, { password: 'hijacked-pass-1', confirm: 'hijacked-pass-1' });
    expect(again.statusCode).toBe(404);
    expect((await new WebClient(panel).login('invited@kura.example', 'invited-pass-1')).statusCode).toBe(303);
  });

  it('lists environments fleet-wide, filtered by state, customer and name', async () => {
    const { repos } = panel.ctx;
    const nodeId = newId('node');
    repos.nodes.insert({ id: nodeId, name: 'fake-node', endpoint: 'tcp://192.0.2.1:2376', publicHost: '192.0.2.1',
      tls: { ca: null, cert: null, keySealed: null }, capacity: { cpus: 8, memoryMb: 16384, diskMb: null }, cpuOvercommit: 1,
      maxEnvironments: 30, diskQuota: false, allowUnenforcedDisk: true, dockerVersion: 'test', storageDriver: 'overlay2' });
    const plan = repos.plans.byName('small-plus')!;
    const other = repos.customers.byEmail('cafe@kura.example')!;
    const limits = { cpus: plan.cpus, memoryMb: plan.memoryMb, swapMb: plan.swapMb, diskMb: plan.diskMb, pids: plan.pids, nofile: plan.nofile };
    const seed = (name: string, owner: string, state: EnvironmentState) => {
      const id = newId('env');
      repos.environments.insert({ id, name, customerId: owner, nodeId, templateId: 'x', planId: plan.id, limits }, []);
      repos.environments.setState(id, state);
    };
    seed('shop-web', customerId, 'running');
    seed('shop-db', customerId, 'stopped');
    seed('cafe-web', other.id, 'running');

    const names = (body: string) => [...body.matchAll(/<a href="\/panel\/environments\/[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]).sort();
    expect(names((await admin.page('/admin/environments')).body)).toEqual(['cafe-web', 'shop-db', 'shop-web']);
    expect(names((await admin.page('/admin/environments?state=running')).body)).toEqual(['cafe-web', 'shop-web']);
    expect(names((await admin.page(`/admin/environments?customerId=${customerId}`)).body)).toEqual(['shop-db', 'shop-web']);
    expect(names((await admin.page(`/admin/environments?customerId=${customerId}&state=stopped`)).body)).toEqual(['shop-db']);
    expect(names((await admin.page('/admin/environments?q=web')).body)).toEqual(['cafe-web', 'shop-web']);
    expect(names((await admin.page(`/admin/environments?nodeId=${nodeId}&q=_`)).body)).toEqual([]);
    expect((await admin.get('/admin/environments?state=bogus')).statusCode).toBe(400);
    const page = await admin.page('/admin/environments');
    expect(page.body).toContain('data-live="/panel/events"');
    expect(page.body).toMatch(/data-env-state="env_/);
  });

  it('renders the create-environment form and re-renders a bad name with 400', async () => {
    const form = await admin.page(`/admin/environments/new?customerId=${customerId}`);
    expect(form.body).toContain(`<option value="${customerId}" selected>`);
    const template = panel.ctx.templates.list()[0]!;
    const plan = panel.ctx.repos.plans.byName('small-plus')!;
    const res = await admin.post('/admin/environments', { customerId, name: 'Not A Slug!', templateId: template.id, planId: plan.id, nodeId: '' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('alert-error');
    expect(res.body).toContain('value="Not A Slug!"');
    expect(panel.ctx.repos.environments.byCustomer(customerId).map((e) => e.name)).not.toContain('Not A Slug!');
  });

  it('lists operations newest first with live progress bars, filtered by status', async () => {
    const env = panel.ctx.repos.environments.byCustomer(customerId)[0]!;
    const older = panel.ctx.repos.operations.insert({ id: newId('op'), kind: 'power', resourceId: env.id, customerId, params: { action: 'start' } });
    const newer = panel.ctx.repos.operations.insert({ id: newId('op'), kind: 'resize', resourceId: env.id, customerId,
      params: { planId: env.planId, previous: { planId: env.planId, limits: env.limits } } });
    panel.ctx.repos.operations.finish(older.id, 'failed', 'failed', { error: { code: 'internal', message: 'it broke' } });
    const all = await admin.page('/admin/operations');
    expect(all.body).toContain('data-live="/panel/events"');
    expect(all.body.indexOf(`data-op="${newer.id}"`)).toBeGreaterThan(0);
    expect(all.body.indexOf(`data-op="${newer.id}"`)).toBeLessThan(all.body.indexOf(`data-op="${older.id}"`));
    expect(all.body).toContain(`href="/panel/environments/${env.id}"`);
    const failed = await admin.page('/admin/operations?status=failed');
    expect(failed.body).toContain(`data-op="${older.id}"`);
    expect(failed.body).not.toContain(`data-op="${newer.id}"`);
    expect(failed.body).toContain('it broke');
  });

  it('shows the admin\'s own actions in the audit log as done via the web, and filters it', async () => {
    const res = await admin.page('/admin/audit');
    expect(res.statusCode).toBe(200);
    const rows = res.body.split('<tr>').filter((r) => r.includes('admin:admin@kura.example'));
    expect(rows.some((r) => r.includes('plan.create') && r.includes('>web<'))).toBe(true);
    expect(rows.some((r) => r.includes('customer.suspend') && r.includes('>web<'))).toBe(true);
    const filtered = await admin.page('/admin/audit?q=customer.suspend');
    expect(filtered.body).toContain('customer.suspend');
    expect(filtered.body).not.toContain('plan.create');
    const byCustomer = await admin.page(`/admin/audit?customerId=${customerId}`);
    expect(byCustomer.body).toContain('session.login');
    expect(byCustomer.body).not.toContain('plan.create');
    const customerPage = await admin.page(`/admin/customers/${customerId}`);
    expect(customerPage.body).toContain('customer.reset-password');
    expect(customerPage.body).not.toContain('brand-new-pass-1');
  });

  it('pages the audit log 100 at a time with ?before=', async () => {
    for (let i = 0; i < 120; i++) {
      panel.ctx.repos.audit.append({ id: newId('aud'), at: nowIso(), actorKind: 'admin', actorId: null, actorLabel: 'script', customerId: null,
        via: 'api', ip: '127.0.0.1', action: `bulk.${i}`, resourceType: null, resourceId: null, status: 200, detail: null });
    }
    const first = await admin.page('/admin/audit?q=bulk.');
    expect(first.body.match(/<code>bulk\.\d+<\/code>/g)).toHaveLength(100);
    expect(first.body).toContain('bulk.119<');
    const hrefs = [...first.body.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&'));
    const older = hrefs.find((h) => h.startsWith('/admin/audit?') && h.includes('before='))!;
    expect(older).toContain('q=bulk.');
    const second = await admin.page(older);
    expect(second.body.match(/<code>bulk\.\d+<\/code>/g)).toHaveLength(20);
    expect(second.body).toContain('bulk.0<');
    expect(second.body).not.toContain('bulk.119<');
  });
});
