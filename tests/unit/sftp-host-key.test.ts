import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../server/core/context.js';
import { loadSecretBox } from '../../server/lib/secrets.js';
import { sftpHostKey } from '../../server/services/sftp-host-key.js';

/** Just what the host key needs from a panel: its data folder and its secret key. */
function panelAt(dataDir: string): Context {
  return { config: { dataDir }, secrets: loadSecretBox(dataDir) } as unknown as Context;
}

describe('the SFTP host key', () => {
  it('is made once, kept sealed, and the same after a restart; its fingerprint is the one ssh-keygen shows', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-hostkey-'));
    try {
      const first = sftpHostKey(panelAt(dir));
      const file = fs.readFileSync(path.join(dir, 'sftp-host-key'), 'utf8');
      expect(file).not.toContain('PRIVATE KEY');
      expect(fs.statSync(path.join(dir, 'sftp-host-key')).mode & 0o777).toBe(0o600);
      const again = sftpHostKey(panelAt(dir));
      expect(again.fingerprint).toBe(first.fingerprint);
      expect(again.publicKey).toMatch(/^ecdsa-sha2-nistp256 AAAA/);
      const shown = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: `${first.publicKey}\n` }).toString();
      expect(shown).toContain(first.fingerprint);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
