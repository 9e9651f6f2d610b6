import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

describe('admin console: the fleet page and node evacuation forms', () => {
  let panel: TestPanel;
  let admin: WebClient;
  let customer: WebClient;

  beforeAll(async () => {
    panel = await startTestPanel();
    panel.ctx.repos.admins.insert(newId('adm'), 'fleet-admin@kura.example', await hashPassword('admin-password-1'), nowIso());
    await panel.api('POST', '/customers', { name: 'Someone', email: 'someone@kura.example', password: 'someone-password-1' });
    admin = new WebClient(panel);
    expect((await admin.login('fleet-admin@kura.example', 'admin-password-1')).statusCode).toBe(303);
    customer = new WebClient(panel);
    expect((await customer.login('someone@kura.example', 'someone-password-1')).statusCode).toBe(303);
  });
  afterAll(async () => panel.close());

  it('shows both previews to the admin and nothing to a customer', async () => {
    const res = await admin.page('/admin/fleet?headroom=30&threshold=10');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Nodes in use: 0 → 0');
    expect(res.body).toContain('value="30"');
    expect(res.body).toContain('Fewer than two active, online nodes');
    expect((await customer.get('/admin/fleet')).statusCode).toBe(404);
    await customer.page('/panel');
    expect((await customer.post('/admin/fleet/consolidation', { headroom: '20' })).statusCode).toBe(404);
  });

  it('refuses a percent out of bounds and a form without its CSRF token', async () => {
    for (const q of ['headroom=91', 'headroom=-1', 'threshold=4', 'headroom=abc', 'headroom=2.5']) {
      expect((await admin.get(`/admin/fleet?${q}`)).statusCode, q).toBe(400);
    }
    await admin.page('/admin/fleet');
    expect((await admin.post('/admin/fleet/rebalance', { threshold: '10' }, {})).statusCode).toBe(303);
    const before = panel.ctx.repos.operations.recent(100).length;
    expect((await admin.post('/admin/fleet/consolidation', { headroom: '20', _csrf: 'forged' })).statusCode).toBe(403);
    expect(panel.ctx.repos.operations.recent(100).length).toBe(before);
    expect((await admin.post('/admin/nodes/node_missing/evacuate', {})).statusCode).toBe(404);
  });
});
