import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { TestCa } from './certs.js';
import { freePort } from './waiting.js';

/**
 * Debian's pebble: a real ACME CA for tests, on loopback. It validates HTTP-01 on port 80
 * of the address the name resolves to through `dnsServer` (pebble-challtestsrv), which in
 * the lab is a node's edge.
 */
export interface Pebble {
  directory: string;
  /** The root of pebble's own HTTPS API, for KURA_ACME_CA_FILE. */
  apiCaFile: string;
  /** The root that signs the certificates pebble issues. */
  issuingRoot(): Promise<string>;
  close(): Promise<void>;
}


export async function startPebble(dnsServer: string): Promise<Pebble> {
  if (!fs.existsSync('/usr/bin/pebble')) throw new Error('/usr/bin/pebble is missing: install Debian\'s pebble package (apt-get install pebble; .ci/run does)');
  const ca = new TestCa('Pebble API test CA');
  ca.leaf(['localhost', 'IP:127.0.0.1'], 'api');
  const [port, management] = [await freePort(), await freePort()];
  const config = path.join(ca.dir, 'pebble.json');
  fs.writeFileSync(config, JSON.stringify({ pebble: {
    listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${management}`,
    certificate: ca.file('api.pem'), privateKey: ca.file('api.key'), httpPort: 80, tlsPort: 443, ocspResponderURL: '',
    externalAccountBindingRequired: false,
  } }));
  let output = '';
  const child: ChildProcess = spawn('/usr/bin/pebble', ['-config', config, '-dnsserver', dnsServer], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => { output = (output + c.toString()).slice(-4000); });
  child.stderr?.on('data', (c: Buffer) => { output = (output + c.toString()).slice(-4000); });
  const get = (url: string) => new Promise<string>((resolve, reject) => {
    https.get(url, { ca: ca.ca.certPem, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
  const directory = `https://127.0.0.1:${port}/dir`;
  for (let i = 0; ; i++) {
    try {
      await get(directory);
      break;
    } catch (err) {
      if (i > 100 || child.exitCode !== null) throw new Error(`pebble did not start: ${(err as Error).message}\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    directory,
    apiCaFile: ca.file('ca.pem'),
    issuingRoot: () => get(`https://127.0.0.1:${management}/roots/0`),
    close: () => new Promise((resolve) => {
      const done = () => { ca.close(); resolve(); };
      if (child.exitCode !== null) return done();
      child.once('exit', done);
      child.kill();
    }),
  };
}
