import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, waitOperation } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

const HOSTILE = '<b onmouseover=x>Big</b>';

/** A customer changes their environment's plan in the web panel: the choices, the difference, a confirmation. */
describe('changing plan in the customer panel', () => {
  let fleet: FakeFleet;
  let customerId: string;
  let envId: string;
  let small: string;
  let up: string;
  let hostile: string;
  let hidden: string;
  let bigDisk: string;

  const plan = async (body: Record<string, unknown>) => {
    const res = await fleet.panel.api('POST', '/plans', { cpus: 1, memoryMb: 256, diskMb: 512, pids: 64, ...body });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    fleet = await startFakeFleet();
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'Shop', email: 'shop@kura.example', password: 'password-123' })).body.id;
    small = await plan({ name: 'small' });
    up = await plan({ name: 'up', cpus: 1.5, memoryMb: 512, pids: 128, selectable: true });
    hostile = await plan({ name: HOSTILE, cpus: 2, memoryMb: 1024, selectable: true });
    hidden = await plan({ name: 'hidden-plan', memoryMb: 2048 });
    bigDisk = await plan({ name: 'big-disk', diskMb: 4096, selectable: true });
    envId = (await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId: small, customerId })).id;
  });
  afterAll(async () => fleet.close());

  const customer = async () => {
    const web = new WebClient(fleet.panel);
    expect((await web.login('shop@kura.example', 'password-123')).statusCode).toBe(303);
    return web;
  };

  it('lists the selectable plans with their difference from now, escaped, and never a plan the host keeps', async () => {
    const web = await customer();
    const page = await web.page(`/panel/environments/${envId}`);
    expect(page.statusCode).toBe(200);
    const card = page.body.slice(page.body.indexOf('data-testid="plan"'), page.body.indexOf('data-testid="plan-choices"') + 4000);
    expect(card).toContain(`/panel/environments/${envId}/plan?planId=${up}`);
    expect(card).toContain('(+0.5)');
    expect(card).toContain('(+256 MiB)');
    expect(card).toContain('(+64)');
    expect(page.body).not.toContain(HOSTILE);
    expect(card).toContain('&lt;b onmouseover&#x3D;x&gt;Big&lt;/b&gt;');
    expect(page.body).not.toContain('hidden-plan');
    // A different disk size is offered too: it rebuilds the environment.
    expect(card).toContain(`planId=${bigDisk}`);
    expect(card).toContain('(+3.5 GiB)');
  });

  it('says before a disk change that the environment is rebuilt with a short stop, in Japanese too', async () => {
    const web = await customer();
    const confirm = await web.page(`/panel/environments/${envId}/plan?planId=${bigDisk}`);
    expect(confirm.body).toContain('data-testid="disk-rebuild"');
    expect(confirm.body).toContain('It stops for a few seconds');
    expect(confirm.body).toContain('data-testid="confirm-plan"');
    const ja = await web.get(`/panel/environments/${envId}/plan?planId=${bigDisk}`, { 'accept-language': 'ja' });
    expect(ja.body).toContain('数秒間停止');
    // A plan that keeps the disk says it changes live instead.
    expect((await web.page(`/panel/environments/${envId}/plan?planId=${up}`)).body).not.toContain('data-testid="disk-rebuild"');
  });

  it('asks once more, showing the difference, then changes the plan and records it', async () => {
    const web = await customer();
    const confirm = await web.page(`/panel/environments/${envId}/plan?planId=${up}`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('data-testid="plan-compare"');
    expect(confirm.body).toContain('From small to up');
    expect(confirm.body).toContain('data-testid="confirm-plan"');
    const done = await web.post(`/panel/environments/${envId}/plan`, { planId: up });
    expect(done.statusCode, done.body).toBe(303);
    const opId = /\?op=(op_[0-9a-z]+)/.exec(String(done.headers.location))?.[1];
    expect(opId).toBeTruthy();
    expect((await waitOperation(fleet.panel, opId!)).status).toBe('succeeded');
    expect((await fleet.panel.api('GET', `/environments/${envId}`)).body.planId).toBe(up);
    const entry = fleet.panel.ctx.repos.audit.list({ limit: 20, customerId }).find((e) => e.action === 'environment.plan');
    expect(entry).toMatchObject({ via: 'web', actorKind: 'customer', resourceId: envId });
    // Back to the first plan is not offered: the host keeps it.
    expect((await web.page(`/panel/environments/${envId}`)).body).not.toContain(`planId=${small}`);
  });

  it('refuses a plan the host keeps, in the page and in a forged form, and changes nothing', async () => {
    const web = await customer();
    expect((await web.page(`/panel/environments/${envId}/plan?planId=${hidden}`)).statusCode).toBe(400);
    await web.page(`/panel/environments/${envId}`);
    const forged = await web.post(`/panel/environments/${envId}/plan`, { planId: hidden });
    expect(forged.statusCode).toBe(403);
    expect((await fleet.panel.api('GET', `/environments/${envId}`)).body.planId).toBe(up);
  });

  it('says plan changes are the host\'s while self-service is off, in Japanese too, and refuses the form', async () => {
    await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: false });
    const web = await customer();
    const page = await web.page(`/panel/environments/${envId}`);
    expect(page.body).toContain('data-testid="plan-by-host"');
    expect(page.body).not.toContain('data-testid="choose-plan"');
    const ja = await web.get(`/panel/environments/${envId}`, { 'accept-language': 'ja' });
    expect(ja.body).toContain('このアカウントのプラン変更はホスティング会社が行います');
    const refused = await web.post(`/panel/environments/${envId}/plan`, { planId: hostile });
    expect(refused.statusCode).toBe(403);
    expect((await fleet.panel.api('GET', `/environments/${envId}`)).body.planId).toBe(up);
    await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: true });
  });
});
