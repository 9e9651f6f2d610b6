// Mutual TLS for the nodes' TCP endpoints: one lab CA, a server cert per node, one client cert.
import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { run, tryRun } from './exec.js';
import { tlsPaths, type LabTlsPaths, type NodePaths } from './paths.js';

const DAYS = '3650';
// P-256 keys are generated in milliseconds; RSA would dominate a 40-node start.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function verify(ca: string, cert: string): Promise<boolean> {
  return (await exists(cert)) && tryRun('openssl', ['verify', '-CAfile', ca, cert]);
}

function serial(): string {
  const b = randomBytes(12);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

/**
 * Moves freshly written key and cert into place. The old cert goes first: an interrupted run
 * then leaves no cert (so it is reissued) rather than an old cert beside a new key.
 */
async function install(tmpKey: string, key: string, tmpCert: string, cert: string): Promise<void> {
  await rm(cert, { force: true });
  await rename(tmpKey, key);
  await rename(tmpCert, cert);
}

/** Issues cert+key signed by the CA, with the given X.509 v3 extensions. */
async function issue(t: LabTlsPaths, subject: string, ext: string, cert: string, key: string): Promise<void> {
  const csr = `${cert}.csr`;
  const extFile = `${cert}.ext`;
  await writeFile(extFile, ext);
  try {
    await run('openssl', ['req', ...KEY_ARGS, '-keyout', `${key}.tmp`, '-out', csr, '-subj', subject]);
    await run('openssl', [
      'x509', '-req', '-in', csr, '-CA', t.caCert, '-CAkey', t.caKey,
      // Random serials: parallel issuers would race on a shared -CAcreateserial file.
      '-set_serial', `0x${serial()}`,
      '-days', DAYS, '-sha256', '-extfile', extFile, '-out', `${cert}.tmp`,
    ]);
    await install(`${key}.tmp`, key, `${cert}.tmp`, cert);
  } finally {
    await rm(csr, { force: true });
    await rm(extFile, { force: true });
  }
}

/** The lab CA and client certificate, created once and kept in the lab dir. Call under the lab lock. */
export async function ensureLabTls(dir: string): Promise<LabTlsPaths> {
  const t = tlsPaths(dir);
  await mkdir(t.dir, { recursive: true, mode: 0o700 });
  if (!(await exists(t.caKey)) || !(await verify(t.caCert, t.caCert))) {
    await run('openssl', [
      'req', '-x509', ...KEY_ARGS, '-keyout', `${t.caKey}.tmp`, '-out', `${t.caCert}.tmp`, '-days', DAYS,
      '-subj', '/CN=Kura lab CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await install(`${t.caKey}.tmp`, t.caKey, `${t.caCert}.tmp`, t.caCert);
    await rm(t.clientCert, { force: true });
  }
  if (!(await exists(t.clientKey)) || !(await verify(t.caCert, t.clientCert))) {
    await issue(t, '/CN=kura-lab-client', 'extendedKeyUsage=clientAuth\n', t.clientCert, t.clientKey);
  }
  return t;
}

export async function ensureServerCert(t: LabTlsPaths, p: NodePaths): Promise<void> {
  if ((await exists(p.serverKey)) && (await verify(t.caCert, p.serverCert))) return;
  await mkdir(p.tlsDir, { recursive: true, mode: 0o700 });
  const ext = [
    `subjectAltName=IP:${p.address},IP:127.0.0.1,DNS:${p.name},DNS:localhost`,
    'extendedKeyUsage=serverAuth',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '',
  ].join('\n');
  await issue(t, `/CN=${p.name}`, ext, p.serverCert, p.serverKey);
}
