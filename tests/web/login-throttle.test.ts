import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../server/lib/secrets.js';
import { newId } from '../../server/lib/ids.js';
import { addressKey } from '../../server/services/login-throttle.js';
import { MAX_SESSIONS } from '../../server/services/sessions.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/**
 * Failed logins slow the address that makes them, per account and in all, and never lock the
 * account's owner out from another address. (Addresses are what inject reports: no traffic.)
 */
describe('login throttling and session limits', () => {
  let panel: TestPanel;
  const ADMIN = { email: 'root@kura.example', password: 'the-admin-password' };
  beforeAll(async () => {
    panel = await startTestPanel();
    panel.ctx.repos.admins.insert(newId('adm'), ADMIN.email, await hashPassword(ADMIN.password), new Date().toISOString());
  });
  afterAll(async () => panel.close());

  it('five wrong passwords throttle the attacker\'s address, and the admin still gets in from another', async () => {
    const attacker = new WebClient(panel, '127.0.0.66');
    await attacker.page('/login');
    for (let i = 0; i < 5; i++) expect((await attacker.post('/login', { email: ADMIN.email, password: `guess-${i}` })).statusCode).toBe(401);
    const throttled = await attacker.post('/login', { email: ADMIN.email, password: ADMIN.password });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.body).toMatch(/Try again in 15 minutes/);

    const owner = new WebClient(panel, '127.0.0.77');
    const res = await owner.login(ADMIN.email, ADMIN.password);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin');
    // The owner's success does not free the attacker.
    expect((await attacker.post('/login', { email: ADMIN.email, password: ADMIN.password })).statusCode).toBe(429);
  });

  it('an address that fails across many accounts is throttled for all of them', async () => {
    const sprayer = new WebClient(panel, '127.0.0.88');
    await sprayer.page('/login');
    for (let i = 0; i < 20; i++) await sprayer.post('/login', { email: `user${i}@kura.example`, password: 'password1' });
    expect((await sprayer.post('/login', { email: ADMIN.email, password: ADMIN.password })).statusCode).toBe(429);
    expect((await new WebClient(panel, '127.0.0.89').login(ADMIN.email, ADMIN.password)).statusCode).toBe(303);
  });

  it('counts an IPv6 /64 as one address', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe(addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it(`keeps at most ${MAX_SESSIONS} sessions per account: the oldest ends when a new one starts`, async () => {
    const email = 'many@kura.example';
    await panel.api('POST', '/customers', { name: 'Many', email, password: 'password-many' });
    const clients: WebClient[] = [];
    for (let i = 0; i < MAX_SESSIONS + 1; i++) {
      const web = new WebClient(panel, `127.0.1.${i + 1}`);
      expect((await web.login(email, 'password-many')).statusCode).toBe(303);
      clients.push(web);
    }
    const customer = panel.ctx.repos.customers.byEmail(email)!;
    const count = (panel.ctx.repos.db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE kind = 'customer' AND subject_id = ?")
      .get(customer.id) as { n: number }).n;
    expect(count).toBe(MAX_SESSIONS);
    const oldest = await clients[0]!.get('/panel');
    expect(oldest.statusCode).toBe(303);
    expect(oldest.headers.location).toMatch(/^\/login/);
    expect((await clients[1]!.get('/panel')).statusCode).toBe(200);
    expect((await clients[MAX_SESSIONS]!.get('/panel')).statusCode).toBe(200);
  });
});
