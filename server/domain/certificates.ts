import { createPrivateKey, X509Certificate } from 'node:crypto';

export interface CheckedCertificate {
  /** The chain as PEM, leaf first. */
  chainPem: string;
  keyPem: string;
  notAfter: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_PEM = 64 * 1024;

/**
 * A certificate a customer uploads for a name, checked the way a browser would see it: the
 * key is a private key that matches the leaf, each certificate of the chain is signed by the
 * next, the leaf covers the name, and it is valid now. The reason is a sentence when not.
 */
export function checkUploadedCertificate(certPem: string, keyPem: string, asciiName: string, now = new Date()):
  CheckedCertificate | { refused: string } {
  if (certPem.length > MAX_PEM || keyPem.length > MAX_PEM) return { refused: 'the certificate or key is larger than 64 KiB' };
  const blocks = certPem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { refused: 'cert holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch {
    return { refused: 'cert holds a certificate that cannot be read' };
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { refused: 'key is not a PEM private key (an encrypted key must be decrypted first)' };
  }
  // What the edge (Go's TLS) can serve.
  if (!['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
    return { refused: `the key is ${key.asymmetricKeyType ?? 'of an unknown type'}; an RSA, ECDSA or Ed25519 key is needed` };
  }
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) return { refused: 'the key does not match the certificate' };
  if (!leaf.checkHost(asciiName)) return { refused: `the certificate does not cover ${asciiName} (it names ${leaf.subjectAltName ?? leaf.subject})` };
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.verify(chain[i + 1]!.publicKey)) {
      return { refused: `the chain is broken: certificate ${i + 1} is not signed by certificate ${i + 2}; give the leaf first, then each issuer` };
    }
  }
  if (Date.parse(leaf.validFrom) > now.getTime()) return { refused: `the certificate is not valid before ${new Date(leaf.validFrom).toISOString()}` };
  if (Date.parse(leaf.validTo) <= now.getTime()) return { refused: `the certificate expired on ${new Date(leaf.validTo).toISOString()}` };
  return { chainPem: blocks.join('\n') + '\n', keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), notAfter: new Date(leaf.validTo).toISOString() };
}
