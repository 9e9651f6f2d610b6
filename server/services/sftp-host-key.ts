import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { parsePublicKey } from '../domain/ssh-keys.js';
import type { Context } from '../core/context.js';

export interface HostKey {
  /** The private key in OpenSSH's format, for the SSH server. */
  privateKey: string;
  /** "ssh-ed25519 AAAA…", as a known_hosts line names it. */
  publicKey: string;
  /** As ssh-keygen -l and an SSH client's first-connect question show it: "SHA256:…". */
  fingerprint: string;
}

const FILE = 'sftp-host-key';
const loaded = new WeakMap<Context, HostKey>();

/**
 * The SFTP endpoint's host key: made once (Ed25519) and kept in the data folder, sealed
 * with the panel's secret key like its other secrets, so it survives restarts and a
 * customer's client can trust it after checking the fingerprint the panel shows.
 */
export function sftpHostKey(ctx: Context): HostKey {
  const known = loaded.get(ctx);
  if (known) return known;
  const file = path.join(ctx.config.dataDir, FILE);
  let privateKey: string;
  if (fs.existsSync(file)) {
    privateKey = ctx.secrets.open(fs.readFileSync(file, 'utf8').trim());
  } else {
    privateKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    // Written beside and renamed, so a crash never leaves half a key.
    fs.writeFileSync(`${file}.new`, ctx.secrets.seal(privateKey), { mode: 0o600 });
    fs.renameSync(`${file}.new`, file);
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`the SFTP host key in ${file} cannot be read: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const publicKey = `${key.type} ${key.getPublicSSH().toString('base64')}`;
  const pub = parsePublicKey(publicKey);
  if ('refused' in pub) throw new Error(`the SFTP host key in ${file} is not usable: ${pub.refused}`);
  const hostKey = { privateKey, publicKey, fingerprint: pub.fingerprint };
  loaded.set(ctx, hostKey);
  return hostKey;
}
