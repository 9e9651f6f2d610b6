import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

/** The account page: a customer registers an SSH key (made by ssh-keygen), sees its fingerprint, and removes it. */
describe('SSH keys on the account page', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-web-keys-'));
  let panel: TestPanel;
  let customerId: string;
  beforeAll(async () => {
    panel = await startTestPanel();
    customerId = (await panel.api('POST', '/customers', { name: 'Keys', email: 'keys@kura.example', password: 'keys-password-1' })).body.id;
  });
  afterAll(async () => {
    await panel.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows the form to a customer with no key or token yet, takes a key, shows its fingerprint, and refuses a private key', async () => {
    execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(dir, 'id')]);
    const pub = fs.readFileSync(path.join(dir, 'id.pub'), 'utf8');
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'id.pub')]).toString().split(' ')[1]!;
    const web = new WebClient(panel);
    await web.login('keys@kura.example', 'keys-password-1');
    const empty = await web.page('/panel/account');
    expect(empty.body).toContain('data-testid="ssh-keys"');
    expect(empty.body).toContain('action="/panel/account/tokens"');
    const refused = await web.post('/panel/account/ssh-keys', { name: 'oops', publicKey: fs.readFileSync(path.join(dir, 'id'), 'utf8') });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('this is a private key');
    expect((await web.post('/panel/account/ssh-keys', { name: 'laptop', publicKey: pub })).statusCode).toBe(303);
    const page = await web.page('/panel/account');
    expect(page.body).toContain(`<code data-testid="ssh-key-fingerprint">${fingerprint}</code>`);
    const ja = await web.get('/panel/account', { 'accept-language': 'ja' });
    expect(ja.body).toContain('SSH 鍵');
    const id = panel.ctx.repos.sshKeys.byCustomer(customerId)[0]!.id;
    expect((await web.post(`/panel/account/ssh-keys/${id}/delete`, {})).statusCode).toBe(303);
    expect(panel.ctx.repos.sshKeys.byCustomer(customerId)).toEqual([]);
    const actions = panel.ctx.repos.audit.list({ limit: 20, customerId }).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['ssh-key.add', 'ssh-key.delete']));
  });
});
