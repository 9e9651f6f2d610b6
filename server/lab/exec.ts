// Finding and installing the host tools the lab needs; running them is server/lib/exec.ts.
import { run } from '../lib/exec.js';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

export { run, tryRun, CommandError, type RunResult, type RunOptions } from '../lib/exec.js';

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export async function findTool(name: string): Promise<string | null> {
  const dirs = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

const REQUIRED_TOOLS = [
  'dockerd', 'containerd', 'runc', 'mkfs.btrfs', 'btrfs', 'nsenter', 'losetup', 'mount', 'ip', 'openssl', 'iptables',
  // The panel host builds template images with these (static-site and debian-nginx).
  'busybox', 'debootstrap',
  // ... and the edge's image with this.
  'caddy',
  // Backups: restic on the nodes (in the helper's image) and the panel's end of the repository.
  'restic', 'rclone',
];
const PACKAGES = ['docker.io', 'btrfs-progs', 'iproute2', 'util-linux', 'openssl', 'iptables', 'busybox-static', 'debootstrap', 'caddy', 'restic', 'rclone'];

let toolsChecked: Promise<void> | null = null;

/** Installs the host packages the lab needs, once per process, only if something is missing. */
export function ensureTools(): Promise<void> {
  toolsChecked ??= (async () => {
    const missing: string[] = [];
    for (const t of REQUIRED_TOOLS) if (!(await findTool(t))) missing.push(t);
    if (missing.length === 0) return;
    process.stderr.write(`kura-lab: missing ${missing.join(', ')}; installing ${PACKAGES.join(' ')} with apt-get\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
    await run('apt-get', ['install', '-y', ...PACKAGES], { env, timeoutMs: 1_200_000 });
    const still: string[] = [];
    for (const t of missing) if (!(await findTool(t))) still.push(t);
    if (still.length > 0) throw new Error(`kura-lab: still missing after apt-get install: ${still.join(', ')}`);
  })();
  toolsChecked.catch(() => {
    toolsChecked = null;
  });
  return toolsChecked;
}

export { pool } from '../lib/pool.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
