import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A customer's machine: a key pair made by OpenSSH's ssh-keygen and a known_hosts file. */
export interface SftpClient {
  dir: string;
  keyFile: string;
  publicKey: string;
  /** Trusts exactly this host key for the endpoint (as a customer who checked the fingerprint would). */
  trust(port: number, hostPublicKey: string): void;
  /** Runs OpenSSH's sftp in batch mode with these commands; `password` logs in by password instead of the key. */
  batch(o: { port: number; user: string; commands: string[]; password?: string; timeoutMs?: number }): Promise<SftpResult>;
  /** An interactive sftp that stays logged in until its stdin ends. */
  interactive(o: { port: number; user: string }): ChildProcess;
}

export interface SftpResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sftpClient(): Promise<SftpClient> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-sftp-client-'));
  const keyFile = path.join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'customer@laptop', '-f', keyFile]);
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, '');
  const askpass = path.join(dir, 'askpass.sh');
  fs.writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$KURA_TEST_PASSWORD"\n', { mode: 0o700 });
  const base = (port: number) => ['-P', String(port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2'];
  const keyArgs = ['-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'BatchMode=yes'];
  return {
    dir, keyFile, publicKey: fs.readFileSync(`${keyFile}.pub`, 'utf8').trim(),
    trust(port, hostPublicKey) {
      fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    },
    batch(o) {
      const auth = o.password === undefined ? keyArgs
        : ['-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1'];
      const env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', KURA_TEST_PASSWORD: o.password ?? '' };
      return new Promise((resolve) => {
        const child = spawn('sftp', [...base(o.port), ...auth, '-b', '-', `${o.user}@127.0.0.1`], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
        child.stdin.end(`${o.commands.join('\n')}\n`);
      });
    },
    interactive(o) {
      return spawn('sftp', [...base(o.port), ...keyArgs, `${o.user}@127.0.0.1`], { stdio: ['pipe', 'pipe', 'pipe'] });
    },
  };
}
