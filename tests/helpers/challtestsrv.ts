import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { freePort } from './waiting.js';

/**
 * pebble-challtestsrv (Debian's pebble package): a DNS server on loopback whose records a
 * test sets over its management API, so DNS checks run against a real resolver path.
 */
export interface FakeDns {
  /** host:port of its DNS server, for KURA_DNS_SERVERS. */
  server: string;
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  setCname(host: string, target: string): Promise<void>;
  /** An A record for one name (others answer the default address). */
  addA(host: string, address: string): Promise<void>;
  close(): Promise<void>;
}

export const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';


/** `defaultIPv4`: what every name without its own A record resolves to (nothing when unset). */
export async function startFakeDns(opts: { defaultIPv4?: string } = {}): Promise<FakeDns> {
  if (!fs.existsSync(CHALLTESTSRV)) throw new Error(`${CHALLTESTSRV} is missing: install Debian's pebble package (apt-get install pebble; .ci/run does)`);
  const [dns, management] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(CHALLTESTSRV, ['-dns01', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${management}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv6', '', '-defaultIPv4', opts.defaultIPv4 ?? ''], { stdio: 'ignore' });
  const call = async (path: string, body: object) => {
    const res = await fetch(`http://127.0.0.1:${management}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`challtestsrv ${path}: ${res.status} ${await res.text()}`);
  };
  const fqdn = (h: string) => (h.endsWith('.') ? h : `${h}.`);
  for (let i = 0; ; i++) {
    try {
      await call('/clear-txt', { host: 'ready.test.' });
      break;
    } catch (err) {
      if (i > 100 || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    server: `127.0.0.1:${dns}`,
    setTxt: (host, value) => call('/set-txt', { host: fqdn(host), value }),
    clearTxt: (host) => call('/clear-txt', { host: fqdn(host) }),
    setCname: (host, target) => call('/set-cname', { host: fqdn(host), target: fqdn(target) }),
    addA: (host, address) => call('/add-a', { host: fqdn(host), addresses: [address] }),
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill();
    }),
  };
}
