import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PanelUpdate } from '../../server/core/updates.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, waitOperation } from '../helpers/panel.js';

/**
 * Customers change their own environments' plans, to the plans the host marked selectable,
 * unless the host turned self-service off for them. The billing system sees every change.
 */
describe('plan changes by the customer (self-service)', () => {
  let fleet: FakeFleet;
  let customerId: string;
  let token: string;
  let envId: string;
  let small: string;

  beforeEach(async () => {
    fleet = await startFakeFleet();
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
    token = (await fleet.panel.api('POST', `/customers/${customerId}/tokens`, { name: 'script' })).body.token;
    small = await fleet.plan('small', 1, 256);
    envId = (await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId: small, customerId })).id;
  });
  afterEach(async () => fleet.close());

  const selectable = async (name: string, memoryMb: number) => {
    const res = await fleet.panel.api('POST', '/plans', { name, cpus: 1, memoryMb, diskMb: 512, pids: 64, selectable: true });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  };
  const asCustomer = (planId: string) => fleet.panel.api('PATCH', `/environments/${envId}`, { planId }, { token });
  const planOf = async () => (await fleet.panel.api('GET', `/environments/${envId}`)).body.planId as string;

  it('says whether plans are selectable and customers self-service, and defaults to not and to yes', async () => {
    expect((await fleet.panel.api('GET', `/plans/${small}`)).body.selectable).toBe(false);
    const up = await selectable('up', 512);
    expect((await fleet.panel.api('GET', `/plans/${up}`)).body.selectable).toBe(true);
    expect((await fleet.panel.api('PATCH', `/plans/${up}`, { selectable: false })).body.selectable).toBe(false);
    expect((await fleet.panel.api('GET', `/customers/${customerId}`)).body.selfService).toBe(true);
    const off = await fleet.panel.api('POST', '/customers', { name: 'D', email: 'd@example.com', selfService: false });
    expect(off.status, off.text).toBe(201);
    expect(off.body.selfService).toBe(false);
    expect((await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: 'no' })).status).toBe(400);
    // Only the host decides either: a customer token cannot mark a plan or turn its own self-service on.
    expect((await fleet.panel.api('PATCH', `/plans/${small}`, { selectable: true }, { token })).status).toBe(403);
    expect((await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: true }, { token })).status).toBe(403);
  });

  it('lets a customer move its own environment to a selectable plan, and the billing system sees it', async () => {
    const up = await selectable('up', 512);
    const seen: PanelUpdate[] = [];
    const stop = fleet.panel.ctx.updates.subscribe((u) => seen.push(u));
    const res = await asCustomer(up);
    expect(res.status, res.text).toBe(202);
    expect((await waitOperation(fleet.panel, res.body.operation.id)).status).toBe('succeeded');
    stop();
    expect(await planOf()).toBe(up);
    expect(seen.some((u) => u.type === 'operation' && JSON.stringify(u).includes(res.body.operation.id) && JSON.stringify(u).includes('succeeded'))).toBe(true);
    const entry = fleet.panel.ctx.repos.audit.list({ limit: 10, customerId }).find((e) => e.resourceId === envId && e.via === 'api');
    expect(entry).toMatchObject({ actorKind: 'customer', status: 202 });
  });

  it('refuses a plan the host did not mark selectable with 403, and changes nothing', async () => {
    const hidden = await fleet.plan('hidden', 1, 512);
    const before = fleet.panel.ctx.repos.operations.openFor(envId).length;
    const res = await asCustomer(hidden);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'forbidden' });
    expect(res.body.error.message).toMatch(/hidden cannot be chosen/);
    expect(await planOf()).toBe(small);
    expect(fleet.panel.ctx.repos.operations.openFor(envId)).toHaveLength(before);
  });

  it('refuses every plan change by a customer whose self-service is off; the admin still changes it', async () => {
    const up = await selectable('up', 512);
    expect((await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: false })).body.selfService).toBe(false);
    const res = await asCustomer(up);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/made by your host/);
    expect(await planOf()).toBe(small);
    const admin = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: up });
    expect(admin.status, admin.text).toBe(202);
    expect((await waitOperation(fleet.panel, admin.body.operation.id)).status).toBe('succeeded');
    expect(await planOf()).toBe(up);
  });

  it('refuses a suspended customer\'s plan change until the account is resumed', async () => {
    const up = await selectable('up', 512);
    expect((await fleet.panel.api('POST', `/customers/${customerId}/suspend`)).status).toBe(200);
    const res = await asCustomer(up);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/suspended/);
    expect(await planOf()).toBe(small);
  });

  it('never lets a customer change another customer\'s environment, selectable plan or not', async () => {
    const up = await selectable('up', 512);
    const other = (await fleet.panel.api('POST', '/customers', { name: 'O', email: 'o@example.com' })).body.id;
    const otherToken = (await fleet.panel.api('POST', `/customers/${other}/tokens`, { name: 'x' })).body.token;
    expect((await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: up }, { token: otherToken })).status).toBe(404);
    expect(await planOf()).toBe(small);
  });
});
