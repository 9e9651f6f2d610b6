// The lab's "legacy server": an old-style Debian machine to import, in a network namespace of
// its own, made once by debootstrap and kept. It runs sshd, nginx, a second service (busybox
// httpd on 8081) and cron, and carries the hazards an import must report: a device node
// outside /dev, an NFS line in fstab, an address hard-coded in nginx's configuration, a
// crontab, a kernel module and a sysctl, and a large data file. Lab nodes cannot reach it
// (their forwarding admits only the lab's nodes): the panel, on the host, can.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { detectMirror } from '../templates/sources/debootstrap.js';
import { run, sleep, tryRun } from './exec.js';
import { labDir, RUN_ROOT } from './paths.js';
import { withLabLock } from './lock.js';
import { waitForPort } from '../lib/ports.js';

export const LEGACY_NETNS = 'kura-legacy';
const VETH = 'klegacy0';
export const LEGACY_HOST_ADDRESS = '10.231.251.1';
export const LEGACY_ADDRESS = '10.231.251.2';
/** Bump when the build below changes: an older rootfs is built again. */
const BUILD = 'legacy-3';
const PACKAGES = ['openssh-server', 'nginx-light', 'cron', 'busybox'];
export const LEGACY_BIG_FILE = '/srv/data/big.bin';
const BIG_MIB = 48;

export interface LegacyHost {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The source's root filesystem as the host sees it (for tests that check it is untouched). */
  rootfs: string;
}

const dir = () => path.join(labDir(), 'legacy');
const rootfsOf = () => path.join(dir(), 'rootfs');
const pidFile = () => path.join(RUN_ROOT, 'legacy.pid');

/** The legacy server, built if needed and running; idempotent, and it clears what a killed earlier run left. */
export function legacyUp(log: (line: string) => void = () => {}): Promise<LegacyHost> {
  return withLabLock(async () => {
    fs.mkdirSync(dir(), { recursive: true, mode: 0o700 });
    const rootfs = rootfsOf();
    if (readText(path.join(dir(), 'build')) !== BUILD) await build(rootfs, log);
    const password = readText(path.join(dir(), 'password'))!;
    if (!(await serving())) {
      await legacyDown();
      await network();
      await start(rootfs);
      await waitForPort(LEGACY_ADDRESS, 22, 20_000);
      await waitForPort(LEGACY_ADDRESS, 80, 20_000);
    }
    return { host: LEGACY_ADDRESS, port: 22, user: 'root', password, rootfs };
  });
}

/** Stops the legacy server and removes its namespace (the built rootfs is kept); the caller holds the lab lock. */
export async function legacyDown(): Promise<void> {
  const pid = Number(readText(pidFile()) ?? 0);
  if (pid > 0 && isLegacyProcess(pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    for (let i = 0; i < 50 && isLegacyProcess(pid); i++) await sleep(100);
  }
  fs.rmSync(pidFile(), { force: true });
  await tryRun('ip', ['link', 'del', VETH]);
  await tryRun('ip', ['netns', 'del', LEGACY_NETNS]);
  // The proc mount of a killed run may linger in the rootfs.
  await tryRun('umount', ['-l', path.join(rootfsOf(), 'proc')]);
}

async function serving(): Promise<boolean> {
  const pid = Number(readText(pidFile()) ?? 0);
  if (!(pid > 0 && isLegacyProcess(pid))) return false;
  try {
    await waitForPort(LEGACY_ADDRESS, 22, 1000);
    return true;
  } catch {
    return false;
  }
}

function isLegacyProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kura-legacy-start');
  } catch {
    return false;
  }
}

async function network(): Promise<void> {
  await run('ip', ['netns', 'add', LEGACY_NETNS]);
  await run('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', LEGACY_NETNS]);
  await run('ip', ['addr', 'add', `${LEGACY_HOST_ADDRESS}/24`, 'dev', VETH]);
  await run('ip', ['link', 'set', VETH, 'up']);
  await run('ip', ['-n', LEGACY_NETNS, 'addr', 'add', `${LEGACY_ADDRESS}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', LEGACY_NETNS, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', LEGACY_NETNS, 'link', 'set', 'lo', 'up']);
}

/** sshd, nginx, the second service and cron, in a pid namespace of their own (killed whole with it) inside the netns. */
async function start(rootfs: string): Promise<void> {
  fs.mkdirSync(RUN_ROOT, { recursive: true });
  const child = spawn('ip', ['netns', 'exec', LEGACY_NETNS, 'unshare', '--pid', '--fork', '--kill-child', '--mount',
    `--mount-proc=${path.join(rootfs, 'proc')}`, 'chroot', rootfs, '/bin/sh', '/kura-legacy-start'], { detached: true, stdio: 'ignore' });
  child.unref();
  if (!child.pid) throw new Error('the legacy server did not start');
  fs.writeFileSync(pidFile(), String(child.pid));
}

const START_SCRIPT = `#!/bin/sh
# kura-legacy-start: what the old machine's init would start.
mkdir -p /run/sshd
/usr/sbin/sshd
/usr/sbin/nginx
busybox httpd -p 8081 -h /srv/api
/usr/sbin/cron
exec sleep 2147483647
`;

async function build(rootfs: string, log: (line: string) => void): Promise<void> {
  const work = `${rootfs}.build`;
  await tryRun('umount', ['-l', path.join(rootfs, 'proc')]);
  fs.rmSync(work, { recursive: true, force: true });
  log(`building the legacy server with debootstrap (${PACKAGES.join(', ')})`);
  await run('/usr/sbin/debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, 'bookworm', work,
    process.env.KURA_DEBIAN_MIRROR ?? detectMirror()], { timeoutMs: 20 * 60_000 });
  const password = randomBytes(12).toString('base64url');
  const inRoot = (script: string) => run('chroot', [work, '/bin/sh', '-c', script]);
  await inRoot(`echo "root:${password}" | chpasswd && useradd -m -u 1000 -s /bin/bash webadmin && ssh-keygen -A >/dev/null`);
  const write = (file: string, text: string, mode = 0o644) => {
    const to = path.join(work, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, text, { mode });
  };
  write('etc/ssh/sshd_config.d/legacy.conf', 'PermitRootLogin yes\nPasswordAuthentication yes\n');
  // The site, with its address written into nginx's configuration (a hazard).
  write('etc/nginx/sites-available/default', `server {\n  listen ${LEGACY_ADDRESS}:80 default_server;\n  root /var/www/html;\n  index index.html;\n}\n`);
  write('var/www/html/index.html', '<h1>legacy shop</h1>\n');
  write('var/www/html/about.html', '<p>since 2009</p>\n');
  write('srv/api/status.txt', 'ok\n');
  write('etc/systemd/system/legacy-api.service', '[Unit]\nDescription=the shop\'s API\n[Service]\nExecStart=/bin/busybox httpd -f -p 8081 -h /srv/api\n[Install]\nWantedBy=multi-user.target\n');
  fs.symlinkSync('/etc/systemd/system/legacy-api.service', path.join(work, 'etc/systemd/system/multi-user.target.wants/legacy-api.service'));
  // Hazards: an NFS mount, a crontab, a kernel module, a sysctl, a device node outside /dev.
  fs.appendFileSync(path.join(work, 'etc/fstab'), '10.231.251.9:/export/shared /mnt/shared nfs defaults 0 0\n');
  write('usr/local/bin/cleanup.sh', '#!/bin/sh\nfind /tmp -mtime +7 -delete\n', 0o755);
  write('var/spool/cron/crontabs/root', '*/5 * * * * /usr/local/bin/cleanup.sh\n', 0o600);
  write('etc/modules', 'nf_conntrack_ftp\n');
  write('etc/sysctl.d/99-legacy.conf', 'net.ipv4.ip_forward = 1\n');
  await run('mknod', [path.join(work, 'opt/ttyS9'), 'c', '4', '73']).catch(async () => {
    fs.mkdirSync(path.join(work, 'opt'), { recursive: true });
    await run('mknod', [path.join(work, 'opt/ttyS9'), 'c', '4', '73']);
  });
  // The large data file.
  fs.mkdirSync(path.join(work, 'srv/data'), { recursive: true });
  await run('dd', ['if=/dev/urandom', `of=${path.join(work, LEGACY_BIG_FILE)}`, 'bs=1M', `count=${BIG_MIB}`, 'status=none']);
  write('kura-legacy-start', START_SCRIPT, 0o755);
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.renameSync(work, rootfs);
  fs.writeFileSync(path.join(dir(), 'password'), password, { mode: 0o600 });
  fs.writeFileSync(path.join(dir(), 'build'), BUILD);
  log('the legacy server is built');
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
