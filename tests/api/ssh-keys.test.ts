import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../server/domain/ssh-keys.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

/** Keys made by OpenSSH's ssh-keygen, as a customer makes them; fingerprints compared with what ssh-keygen -l says. */
describe('customers\' SSH keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-keys-'));
  const keygen = (name: string, ...args: string[]) => {
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@laptop`, '-f', file, ...args]);
    return { pub: fs.readFileSync(`${file}.pub`, 'utf8'), priv: fs.readFileSync(file, 'utf8'),
      fingerprint: execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]).toString().split(' ')[1]! };
  };
  let panel: TestPanel;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    panel = await startTestPanel();
    const customer = async (name: string) => {
      const id = (await panel.api('POST', '/customers', { name, email: `${name}@example.com` })).body.id as string;
      return { id, token: (await panel.api('POST', `/customers/${id}/tokens`, { name: 't' })).body.token as string };
    };
    alice = await customer('alice');
    bob = await customer('bob');
  });
  afterAll(async () => {
    await panel.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([['ed25519', ['-t', 'ed25519']], ['ecdsa', ['-t', 'ecdsa', '-b', '384']], ['rsa', ['-t', 'rsa', '-b', '3072']]])(
    'takes an %s key and shows the fingerprint ssh-keygen shows', (name, args) => {
      const key = keygen(name, ...args);
      const parsed = parsePublicKey(key.pub);
      expect(parsed).toMatchObject({ fingerprint: key.fingerprint });
      expect((parsed as { openssh: string }).openssh).toBe(key.pub.trim().split(' ').slice(0, 2).join(' '));
    });

  it('registers, lists and removes a customer\'s keys; another customer sees none of them', async () => {
    const key = keygen('laptop', '-t', 'ed25519');
    const added = await panel.api('POST', `/customers/${alice.id}/ssh-keys`, { name: 'Laptop', publicKey: key.pub }, { token: alice.token });
    expect(added.status, added.text).toBe(201);
    expect(added.body).toMatchObject({ name: 'Laptop', fingerprint: key.fingerprint });
    expect(added.body.publicKey).toBeUndefined();
    const again = await panel.api('POST', `/customers/${alice.id}/ssh-keys`, { name: 'Again', publicKey: key.pub }, { token: alice.token });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(key.fingerprint);
    // The same key may belong to another customer too (their own laptop, say): it is theirs to say.
    expect((await panel.api('GET', `/customers/${alice.id}/ssh-keys`, undefined, { token: bob.token })).status).toBe(404);
    expect((await panel.api('POST', `/customers/${alice.id}/ssh-keys`, { name: 'x', publicKey: key.pub }, { token: bob.token })).status).toBe(404);
    expect((await panel.api('DELETE', `/ssh-keys/${added.body.id}`, undefined, { token: bob.token })).status).toBe(404);
    const list = await panel.api('GET', `/customers/${alice.id}/ssh-keys`, undefined, { token: alice.token });
    expect(list.body.items.map((k: any) => k.fingerprint)).toEqual([key.fingerprint]);
    expect((await panel.api('DELETE', `/ssh-keys/${added.body.id}`, undefined, { token: alice.token })).status).toBe(204);
    expect((await panel.api('GET', `/customers/${alice.id}/ssh-keys`)).body.items).toEqual([]);
  });

  it('refuses a malformed, private or weak key with the reason, and stores nothing', async () => {
    const priv = keygen('private', '-t', 'ed25519').priv;
    const weak = keygen('weak', '-t', 'rsa', '-b', '1024').pub;
    const ed = keygen('parts', '-t', 'ed25519').pub.split(' ');
    const cases: [string, RegExp][] = [
      [priv, /this is a private key/],
      [weak, /at least 2048 bits; this one has 1024/],
      ['ssh-dss AAAAB3NzaC1kc3MAAACBAP', /ssh-dss are not accepted/],
      ['ssh-ed25519', /must read "type key \[comment\]"/],
      ['ssh-ed25519 not*base64', /not base64/],
      [`ssh-rsa ${ed[1]}`, /not a valid ssh-rsa key/],
      [`${ed[0]} ${ed[1]!.slice(0, 20)}`, /not a valid ssh-ed25519 key/],
    ];
    for (const [publicKey, reason] of cases) {
      const res = await panel.api('POST', `/customers/${alice.id}/ssh-keys`, { name: 'bad', publicKey }, { token: alice.token });
      expect(res.status, publicKey.slice(0, 40)).toBe(400);
      expect(res.body.error.message).toMatch(reason);
    }
    expect((await panel.api('GET', `/customers/${alice.id}/ssh-keys`)).body.items).toEqual([]);
  });
});
