import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection } from 'ssh2';
import type { Principal } from '../domain/types.js';
import { errorMessage } from '../lib/errors.js';
import { verifyPasswordOrNone } from '../lib/secrets.js';
import { audit } from '../services/audit.js';
import { LoginThrottle } from '../services/login-throttle.js';
import { sftpHostKey } from '../services/sftp-host-key.js';
import type { Context } from '../core/context.js';
import { serveSftp } from './session.js';

/** Connections one customer may hold at once, and the endpoint in all. */
export const SESSIONS_PER_CUSTOMER = 10;
const SESSIONS_TOTAL = 500;
/** How often open sessions are checked against suspensions and deletions. */
const SWEEP_MS = 2000;
/** A connection that has not logged in by then is dropped. */
const LOGIN_MS = 30_000;
/** Connections that have not logged in yet, at once. */
const PENDING_MAX = 200;

export interface SftpEndpoint {
  port: number;
  close(): Promise<void>;
}

interface Live {
  client: Connection;
  environmentId: string;
  customerId: string;
}

/**
 * The SFTP endpoint: an SSH server (the ssh2 library) that offers only the SFTP subsystem.
 * The user name is an environment's id; its owner's panel password or one of their SSH keys
 * logs in. Each session works in that environment's data folder through the panel's file
 * agent (services/environment-files.ts), so the panel, not a process in the container,
 * decides who gets in; nothing listens inside the customer's container.
 */
export async function startSftp(ctx: Context, o: { host: string; port: number }): Promise<SftpEndpoint> {
  const hostKey = sftpHostKey(ctx);
  const throttle = new LoginThrottle();
  const live = new Set<Live>();
  let pending = 0;

  const server = new ssh2.Server({
    hostKeys: [hostKey.privateKey],
    ident: 'Kura',
    // Without ssh2's optional native module, chacha20-poly1305 runs in JavaScript; AES runs in OpenSSL.
    algorithms: { cipher: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'] },
  }, (client, info) => {
    const ip = info.ip;
    // Connections not yet logged in are bounded too: a flood of them cannot hold the panel's memory.
    if (pending >= PENDING_MAX) {
      client.end();
      return;
    }
    pending++;
    let counted = true;
    const settle = () => {
      if (counted) pending--;
      counted = false;
    };
    const loginTimer = setTimeout(() => client.end(), LOGIN_MS);
    let session: Live | null = null;
    client.on('error', () => {});
    client.on('close', () => {
      clearTimeout(loginTimer);
      settle();
      if (session) live.delete(session);
    });
    client.on('authentication', (auth) => {
      void authenticate(auth, ip).then((who) => {
        if (!who) return;
        clearTimeout(loginTimer);
        settle();
        session = { client, ...who };
        live.add(session);
      }, (err) => {
        ctx.log.error({ err: errorMessage(err) }, 'sftp login check failed');
        auth.reject();
      });
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const s = accept();
        s.on('sftp', (acceptSftp) => {
          if (!session) return;
          const own = session;
          serveSftp(ctx, acceptSftp(), own.environmentId, () => current(own), () => client.end());
        });
        s.on('exec', (_accept, reject) => reject?.());
        s.on('shell', (_accept, reject) => reject?.());
        s.on('pty', (_accept, reject) => reject?.());
      });
      client.on('tcpip', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  });

  /** Whether a session may go on: its environment exists and its customer is not suspended. */
  function current(s: Live): boolean {
    const env = ctx.repos.environments.get(s.environmentId);
    const customer = ctx.repos.customers.get(s.customerId);
    return Boolean(env && env.state !== 'deleting' && env.customerId === s.customerId && customer?.status === 'active');
  }

  async function authenticate(auth: AuthContext, ip: string): Promise<{ environmentId: string; customerId: string } | null> {
    const methods = ['publickey', 'password'] as Array<'publickey' | 'password'>;
    if (auth.method !== 'password' && auth.method !== 'publickey') {
      auth.reject(methods);
      return null;
    }
    const user = auth.username.slice(0, 64);
    if (throttle.retryAfter(user, ip) > 0) {
      auth.reject(methods);
      return null;
    }
    const env = ctx.repos.environments.get(user);
    const customer = env ? ctx.repos.customers.get(env.customerId) : undefined;
    const refuse = (why: string, counted: boolean) => {
      if (counted) {
        throttle.fail(user, ip);
        audit(ctx, { principal: null, via: 'sftp', ip, action: 'sftp.login.failed', resourceType: 'environment',
          resourceId: env ? env.id : null, status: 401, detail: `user=${user} method=${auth.method} reason=${why}` });
      }
      auth.reject(methods);
      return null;
    };
    if (auth.method === 'password') {
      const hash = customer ? ctx.repos.customers.login(customer.id)?.passwordHash : null;
      const ok = await verifyPasswordOrNone(auth.password, hash);
      if (!env || !customer) return refuse('unknown environment', true);
      if (!ok) return refuse('wrong password', true);
    } else {
      const blob = auth.key.data;
      const key = customer ? ctx.repos.sshKeys.byCustomer(customer.id).find((k) => sameBlob(k.publicKey, blob)) : undefined;
      // A client offers its keys one by one: a key that is not registered is no failed login.
      if (!env || !customer || !key) return refuse('key not registered', false);
      if (!auth.signature) {
        auth.accept();
        return null;
      }
      const parsed = ssh2.utils.parseKey(key.publicKey);
      const pub = parsed instanceof Error ? null : Array.isArray(parsed) ? parsed[0]! : parsed;
      if (!pub || pub.verify(auth.blob!, auth.signature, auth.hashAlgo) !== true) return refuse('bad signature', true);
    }
    if (env.state === 'deleting') return refuse('environment is being deleted', true);
    if (customer.status !== 'active') return refuse('customer suspended', true);
    if ([...live].filter((s) => s.customerId === customer.id).length >= SESSIONS_PER_CUSTOMER || live.size >= SESSIONS_TOTAL) {
      return refuse('too many sessions', false);
    }
    throttle.succeed(user, ip);
    const principal: Principal = { kind: 'customer', customerId: customer.id, tokenId: null, label: `customer:${customer.email}` };
    const keyNote = auth.method === 'publickey' ? ` key=SHA256:${createHash('sha256').update(auth.key.data).digest('base64').replace(/=+$/, '')}` : '';
    audit(ctx, { principal, via: 'sftp', ip, action: 'sftp.login', resourceType: 'environment', resourceId: env.id, status: 200,
      detail: `method=${auth.method}${keyNote}` });
    auth.accept();
    return { environmentId: env.id, customerId: customer.id };
  }

  const sweep = setInterval(() => {
    for (const s of live) if (!current(s)) s.client.end();
  }, SWEEP_MS);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: Error) => ctx.log.error({ err: errorMessage(err) }, 'sftp endpoint error'));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      clearInterval(sweep);
      for (const s of live) s.client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sameBlob(openssh: string, blob: Buffer): boolean {
  const stored = Buffer.from(openssh.split(' ')[1] ?? '', 'base64');
  return stored.length === blob.length && timingSafeEqual(stored, blob);
}
