// Names, addresses and file locations of lab nodes. Pure functions: no I/O.
import path from 'node:path';

export const DEFAULT_LAB_DIR = '/var/lib/kura-lab';
/**
 * Runtime files (sockets, pid files, dockerd's exec-root) live under /run because unix socket
 * paths are limited to 108 bytes and containerd nests its own sockets below the exec-root.
 * There is one lab per machine (netns names and 10.231.N.0/24 are machine-wide too).
 */
export const RUN_ROOT = '/run/kura-lab';
export const NETNS_PREFIX = 'kura-lab';
export const VETH_PREFIX = 'klab';
export const DOCKER_PORT = 2376;
/** 10.231.N.0/24: N is one octet, and 0 would be a network address. */
export const MAX_NODES = 250;

export function labDir(dir?: string): string {
  return path.resolve(dir ?? process.env['KURA_LAB_DIR'] ?? DEFAULT_LAB_DIR);
}

export function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) {
    throw new Error(`lab node index must be an integer 1..${MAX_NODES}, got ${String(index)}`);
  }
  return index;
}

export interface NodePaths {
  index: number;
  name: string;
  netns: string;
  netnsFile: string;
  veth: string;
  hostAddress: string;
  address: string;
  endpoint: string;
  /** Per-node state: disk image, mount point, server cert, log, daemon config. */
  nodeDir: string;
  diskImage: string;
  dataRoot: string;
  tlsDir: string;
  serverCert: string;
  serverKey: string;
  logFile: string;
  configFile: string;
  trustKey: string;
  /** Short runtime paths. */
  runDir: string;
  execRoot: string;
  pidFile: string;
  socketPath: string;
  socket: string;
  cgroupParent: string;
}

export function nodePaths(dir: string, index: number): NodePaths {
  checkIndex(index);
  const nodeDir = path.join(dir, 'nodes', String(index));
  const runDir = path.join(RUN_ROOT, String(index));
  const address = `10.231.${index}.2`;
  const socketPath = path.join(runDir, 'docker.sock');
  return {
    index,
    name: `lab${index}`,
    netns: `${NETNS_PREFIX}${index}`,
    netnsFile: `/var/run/netns/${NETNS_PREFIX}${index}`,
    veth: `${VETH_PREFIX}${index}`,
    hostAddress: `10.231.${index}.1`,
    address,
    endpoint: `tcp://${address}:${DOCKER_PORT}`,
    nodeDir,
    diskImage: path.join(nodeDir, 'disk.img'),
    dataRoot: path.join(nodeDir, 'data'),
    tlsDir: path.join(nodeDir, 'tls'),
    serverCert: path.join(nodeDir, 'tls', 'server-cert.pem'),
    serverKey: path.join(nodeDir, 'tls', 'server-key.pem'),
    logFile: path.join(nodeDir, 'dockerd.log'),
    configFile: path.join(nodeDir, 'daemon.json'),
    trustKey: path.join(nodeDir, 'key.json'),
    runDir,
    execRoot: path.join(runDir, 'exec'),
    pidFile: path.join(runDir, 'dockerd.pid'),
    socketPath,
    socket: `unix://${socketPath}`,
    cgroupParent: `/${NETNS_PREFIX}${index}`,
  };
}

export interface LabTlsPaths {
  dir: string;
  caCert: string;
  caKey: string;
  clientCert: string;
  clientKey: string;
}

export function tlsPaths(dir: string): LabTlsPaths {
  const tls = path.join(dir, 'tls');
  return {
    dir: tls,
    caCert: path.join(tls, 'ca.pem'),
    caKey: path.join(tls, 'ca-key.pem'),
    clientCert: path.join(tls, 'client-cert.pem'),
    clientKey: path.join(tls, 'client-key.pem'),
  };
}

/** Index encoded in a name such as "kura-lab7" or "klab7", or null if it is not ours. */
export function indexFromName(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  if (!/^[1-9][0-9]{0,2}$/.test(rest)) return null;
  const n = Number(rest);
  return n <= MAX_NODES ? n : null;
}

/** True when p is dir itself or lies below it. */
export function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
