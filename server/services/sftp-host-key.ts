import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import ssh2 from 'ssh2';
import { parsePublicKey } from '../domain/ssh-keys.js';
import type { Context } from '../core/context.js';
import { sealedFile } from './sealed-file.js';

export interface HostKey {
  /** The private key in OpenSSH's format, for the SSH server. */
  privateKey: string;
  /** "ecdsa-sha2-nistp256 AAAA…", as a known_hosts line names it. */
  publicKey: string;
  /** As ssh-keygen -l and an SSH client's first-connect question show it: "SHA256:…". */
  fingerprint: string;
}

const FILE = 'sftp-host-key';
const loaded = new WeakMap<Context, HostKey>();

/**
 * The SFTP endpoint's host key: made once (ECDSA P-256) and kept in the data folder, sealed
 * with the panel's secret key like its other secrets, so it survives restarts and a
 * customer's client can trust it after checking the fingerprint the panel shows.
 */
export function sftpHostKey(ctx: Context): HostKey {
  const known = loaded.get(ctx);
  if (known) return known;
  const file = path.join(ctx.config.dataDir, FILE);
  // Made by OpenSSL through node:crypto: ssh2's own generator drops a leading zero byte of
  // some Ed25519 keys (about 1 in 300), which it then cannot read back.
  const privateKey = sealedFile(ctx, FILE,
    () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString());
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
