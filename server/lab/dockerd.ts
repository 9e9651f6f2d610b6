// Starting one node's dockerd inside its namespace, and talking to it over mutual TLS.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { sleep } from './exec.js';
import { DOCKER_PORT, type LabTlsPaths, type NodePaths } from './paths.js';
import { dockerdPid } from './procs.js';

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

export function clientTls(t: LabTlsPaths): ClientTls {
  return { ca: t.caCert, cert: t.clientCert, key: t.clientKey };
}

/** GET /_ping over TLS with the lab client certificate; true only for an "OK" answer. */
export async function ping(address: string, tls: ClientTls, timeoutMs = 2000): Promise<boolean> {
  let ca: Buffer, cert: Buffer, key: Buffer;
  try {
    [ca, cert, key] = await Promise.all([readFile(tls.ca), readFile(tls.cert), readFile(tls.key)]);
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    const req = https.request(
      { host: address, port: DOCKER_PORT, path: '/_ping', method: 'GET', ca, cert, key, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function logTail(file: string, lines = 25): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const NODE_NICE = 5;

function dockerdArgs(p: NodePaths, t: LabTlsPaths): string[] {
  return [
    '--config-file', p.configFile,
    '--data-root', p.dataRoot,
    '--exec-root', p.execRoot,
    '--pidfile', p.pidFile,
    '-H', p.socket,
    '-H', `tcp://${p.address}:${DOCKER_PORT}`,
    '--tlsverify',
    '--tlscacert', t.caCert,
    '--tlscert', p.serverCert,
    '--tlskey', p.serverKey,
    '--storage-driver', 'btrfs',
    // Published ports are DNAT rules only; no docker-proxy process per port.
    '--userland-proxy=false',
    // Every customer gets a bridge network per node; the default pools hold only about 30.
    '--default-address-pool', 'base=10.240.0.0/12,size=24',
    '--cgroup-parent', p.cgroupParent,
    '--log-level', 'warn',
  ];
}

function daemonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // DOCKER_HOST, DOCKER_CERT_PATH etc. of the caller must not leak into the daemon.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOCKER_')) env[k] = v;
  env['PATH'] = `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  return env;
}

/**
 * Spawns dockerd in the node's namespace and waits until it answers /_ping over TLS.
 * nsenter --net only switches the network namespace; `ip netns exec` would also remount /sys,
 * which hides the cgroup mounts from dockerd.
 */
export async function startDockerd(p: NodePaths, t: LabTlsPaths, timeoutMs = 90_000): Promise<number> {
  await mkdir(p.runDir, { recursive: true, mode: 0o700 });
  await mkdir(p.execRoot, { recursive: true, mode: 0o700 });
  // Own config file: the host's /etc/docker/daemon.json must not apply. The trust key would
  // otherwise be shared in /etc/docker/key.json by every node, created racily in parallel.
  await writeFile(p.configFile, `${JSON.stringify({ 'deprecated-key-path': p.trustKey }, null, 2)}\n`);
  await rm(p.pidFile, { force: true });
  await rm(p.socketPath, { force: true });

  const log = await open(p.logFile, 'a');
  await log.write(`--- ${new Date().toISOString()} kura-lab starting dockerd for ${p.name}\n`);
  await log.close();
  const fd = openSync(p.logFile, 'a');
  // Set from the child's callbacks, hence an object rather than a narrowed local.
  const state: { exited: string | null } = { exited: null };
  try {
    // Lab nodes stand in for separate machines: at a lower CPU priority they cannot starve
    // the panel that shares this machine with them (their containers inherit it).
    const child = spawn('nice', ['-n', String(NODE_NICE), 'nsenter', `--net=${p.netnsFile}`, 'dockerd', ...dockerdArgs(p, t)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: daemonEnv(),
    });
    child.on('exit', (code, sig) => (state.exited = `dockerd exited (${sig ?? `code ${String(code)}`})`));
    child.on('error', (err) => (state.exited = `could not spawn nsenter dockerd: ${err.message}`));
    child.unref();
  } finally {
    closeSync(fd);
  }

  const tls = clientTls(t);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (state.exited !== null) break;
    if (await ping(p.address, tls, 1000)) {
      const pid = await dockerdPid(p);
      if (pid !== null) return pid;
    }
    if (Date.now() > deadline) break;
    await sleep(150);
  }
  const why = state.exited ?? `no TLS answer on ${p.endpoint} within ${Math.round(timeoutMs / 1000)} s`;
  throw new Error(`${p.name}: ${why}. Last lines of ${p.logFile}:\n${await logTail(p.logFile)}`);
}
