import { createHash } from 'node:crypto';

export interface PublicKey {
  /** "ssh-ed25519 AAAA…", without the comment. */
  openssh: string;
  type: string;
  /** As ssh-keygen -l shows it: "SHA256:…". */
  fingerprint: string;
}

const TYPES = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);
const MIN_RSA_BITS = 2048;
const MAX_KEY = 16 * 1024;

/** Reads the SSH wire format's length-prefixed strings from a key blob. */
function fields(blob: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return null;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return null;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/**
 * An OpenSSH public key line ("type base64 [comment]", as in id_ed25519.pub), checked: a
 * known type whose blob says the same type, well formed, and RSA keys of at least 2048 bits.
 * The reason is a sentence when it is refused.
 */
export function parsePublicKey(input: string): PublicKey | { refused: string } {
  const line = input.trim();
  if (line.length === 0) return { refused: 'the public key is empty' };
  if (line.length > MAX_KEY) return { refused: 'the public key is longer than 16 KiB' };
  if (line.includes('PRIVATE KEY')) return { refused: 'this is a private key: paste the public key (the .pub file), and keep the private one to yourself' };
  if (/[\r\n]/.test(line)) return { refused: 'the public key must be one line, as in the .pub file' };
  const [type, data] = line.split(/\s+/);
  if (!type || !data) return { refused: 'the public key must read "type key [comment]", as in the .pub file (for example ssh-ed25519 AAAA…)' };
  if (!TYPES.has(type)) return { refused: `keys of type ${type} are not accepted; use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return { refused: 'the key part is not base64' };
  const blob = Buffer.from(data, 'base64');
  const parts = fields(blob);
  if (!parts || parts.length < 2 || parts[0]!.toString('latin1') !== type) return { refused: `the key data is not a valid ${type} key` };
  if (type === 'ssh-rsa') {
    const n = parts[2];
    if (!n) return { refused: 'the key data is not a valid ssh-rsa key' };
    const bits = n.length * 8 - (n[0] === 0 ? 8 : 0) - Math.clz32(n[n[0] === 0 ? 1 : 0]! ) + 24;
    if (bits < MIN_RSA_BITS) return { refused: `an RSA key needs at least ${MIN_RSA_BITS} bits; this one has ${bits}` };
  }
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { openssh: `${type} ${data}`, type, fingerprint };
}
