/**
 * Importing an existing server: what preflight learns from the source (facts) and what it
 * makes of them (findings). Pure: the SSH reading is in sources/, the operation in
 * operations/handlers/imports.ts. Only what makes an import impossible is a blocker (another
 * CPU architecture, data larger than the plan's disk); everything else is a warning or
 * information, each with the action Kura takes or the operator must.
 */

export type Severity = 'blocker' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: Severity;
  title: string;
  detail: string;
  action: string;
}

export interface Listening {
  port: number;
  address: string;
  process: string;
  command: string;
}

export interface SourceFacts {
  distro: string;
  arch: string;
  kernel: string;
  libc: string;
  init: string;
  diskMb: number;
  services: string[];
  listening: Listening[];
  users: { name: string; uid: number; home: string }[];
  crontabs: string[];
  mounts: { source: string; target: string; type: string }[];
  modules: string[];
  sysctls: string[];
  devices: string[];
  addresses: { file: string; line: number; address: string }[];
  networkConfig: string[];
  boot: string[];
  hostKey: string;
}

export interface PreflightReport {
  facts: SourceFacts;
  findings: Finding[];
}

/** The output of the preflight script, split at its `@@name` lines. */
export function splitSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of output.split('\n')) {
    const m = /^@@([a-z]+)$/.exec(line.trim());
    if (m) {
      current = [];
      sections.set(m[1]!, current);
    } else if (current && line.trim() !== '') {
      current.push(line.replace(/\s+$/, ''));
    }
  }
  return sections;
}

/** Whether the output is whole: the script's last section arrived. */
export function isComplete(output: string): boolean {
  return splitSections(output).has('end');
}

const SERVICE_SUFFIX = /\.(service|socket|timer|target|path)$/;

export function parseFacts(output: string, hostKey: string): SourceFacts {
  const s = splitSections(output);
  const lines = (name: string) => s.get(name) ?? [];
  const os = lines('os');
  const field = (key: string) => os.map((l) => new RegExp(`^${key}="?([^"]*)"?$`).exec(l)?.[1]).find((v) => v !== undefined);
  const distro = field('PRETTY_NAME') ?? os.find((l) => /release/i.test(l)) ?? 'unknown';
  const services = [...new Set([
    ...lines('enabled').filter((l) => SERVICE_SUFFIX.test(l)).map((l) => l.replace(SERVICE_SUFFIX, '')),
    ...lines('enabled').filter((l) => /^S\d\d/.test(l)).map((l) => l.replace(/^S\d\d/, '')),
  ])].sort();
  const owners = new Map<string, { pid: string; process: string }>();
  for (const l of lines('sockets')) {
    const m = /^(\d+) socket:\[(\d+)\] (.+)$/.exec(l);
    if (m && !owners.has(m[2]!)) owners.set(m[2]!, { pid: m[1]!, process: m[3]! });
  }
  const commands = new Map<string, string>();
  for (const l of lines('cmdlines')) {
    const m = /^(\d+) (.*)$/.exec(l);
    if (m) commands.set(m[1]!, m[2]!.trim());
  }
  const listening = new Map<number, Listening>();
  for (const l of tcpListeners(lines('tcp'))) {
    if (listening.has(l.port)) continue;
    const owner = owners.get(l.inode);
    listening.set(l.port, { port: l.port, address: l.address, process: owner?.process ?? 'unknown',
      command: owner ? commands.get(owner.pid) ?? '' : '' });
  }
  const kb = Number.parseInt(lines('du')[0] ?? '', 10);
  return {
    distro, arch: lines('arch')[0] ?? 'unknown', kernel: lines('kernel')[0] ?? 'unknown', libc: lines('libc')[0] ?? 'unknown',
    init: lines('init')[0] ?? 'unknown',
    diskMb: Number.isFinite(kb) ? Math.ceil(kb / 1024) : 0,
    services,
    listening: [...listening.values()].sort((a, b) => a.port - b.port),
    users: lines('passwd').flatMap((l) => {
      const [name, , uid, , , home, shell] = l.split(':');
      const n = Number(uid);
      return name && Number.isInteger(n) && n >= 1000 && n < 65534 && !/nologin|false$/.test(shell ?? '') ? [{ name, uid: n, home: home ?? '' }] : [];
    }),
    crontabs: [...lines('crontab').map((l) => `/etc/crontab: ${l}`), ...lines('crond').map((f) => `/etc/cron.d/${f}`),
      ...lines('usercrons').map((u) => `crontab of ${u}`)],
    mounts: lines('fstab').flatMap((l) => {
      const [source, target, type] = l.trim().split(/\s+/);
      return source && target && type ? [{ source, target, type }] : [];
    }),
    modules: lines('modules').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean),
    sysctls: lines('sysctl').map((l) => l.trim()),
    devices: lines('devices'),
    addresses: lines('addresses').flatMap((l) => {
      const m = /^(.+):(\d+):(\d{1,3}(?:\.\d{1,3}){3})$/.exec(l);
      return m ? [{ file: m[1]!, line: Number(m[2]), address: m[3]! }] : [];
    }),
    networkConfig: lines('network'),
    boot: lines('boot'),
    hostKey,
  };
}

/** /proc/net/tcp's little-endian hex IPv4 (or IPv6, shown as such) as text. */
function hexAddress(hex: string): string {
  if (hex.length === 8) return [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');
  return /^0+$/.test(hex) ? '::' : 'ipv6';
}

/** Architectures as uname -m names them, in Docker's words. */
export function dockerArch(uname: string): string {
  return ({ x86_64: 'amd64', amd64: 'amd64', aarch64: 'arm64', arm64: 'arm64', i686: '386', i386: '386', armv7l: 'arm' } as Record<string, string>)[uname] ?? uname;
}

const NETWORK_FS = new Set(['nfs', 'nfs4', 'cifs', 'smbfs', 'sshfs', 'fuse.sshfs', 'glusterfs', 'ceph', 'davfs']);
const LOCAL_SKIP = new Set(['/', 'none', 'swap', '/proc', '/sys', '/dev/pts', '/dev/shm']);
/** Services the supervisor does not run in the environment, with why. */
export const NOT_STARTED: Record<string, string> = {
  ssh: 'logins go through Kura\'s SFTP and console', sshd: 'logins go through Kura\'s SFTP and console',
  'e2scrub_reap': 'the node looks after filesystems', 'systemd-timesyncd': 'the node keeps time', ntp: 'the node keeps time', chrony: 'the node keeps time',
  rsyslog: 'logs are the container\'s output', 'getty@tty1': 'a container has no terminal', networking: 'the environment\'s network is Docker\'s',
};

export function findings(facts: SourceFacts, opts: { nodeArch: string; planDiskMb?: number | undefined }): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const arch = dockerArch(facts.arch);
  if (arch !== opts.nodeArch) {
    add({ code: 'architecture', severity: 'blocker', title: `The source is ${facts.arch}; the nodes run ${opts.nodeArch}`,
      detail: 'A container runs the node\'s CPU instructions: binaries built for another architecture cannot run.',
      action: 'Rebuild the services for the nodes\' architecture and copy only the data.' });
  }
  if (opts.planDiskMb !== undefined && facts.diskMb > opts.planDiskMb) {
    add({ code: 'disk', severity: 'blocker', title: `The data (${facts.diskMb} MiB) is larger than the plan's disk (${opts.planDiskMb} MiB)`,
      detail: 'The import copies the whole filesystem; it cannot fit.', action: 'Choose a plan with a larger disk, or clear data on the source first.' });
  } else {
    add({ code: 'disk', severity: 'info', title: `${facts.diskMb} MiB of files to copy`,
      detail: opts.planDiskMb === undefined ? 'No plan was given to compare with.' : `The plan's disk is ${opts.planDiskMb} MiB.`,
      action: 'Copied as a stream, owners, modes, links and sparse files kept; /proc, /sys, /dev, /boot, kernel modules and mounted filesystems are left out.' });
  }
  if (facts.init === 'systemd' || facts.init === 'init') {
    add({ code: 'init', severity: 'warning', title: `The source boots with ${facts.init}`,
      detail: `Enabled: ${facts.services.join(', ') || 'none found'}. An environment has no init system of its own.`,
      action: 'Kura starts the listening services with its own supervisor and restarts them if they stop; unit options (timers, sockets, dependencies) are not carried over.' });
  } else {
    add({ code: 'init', severity: 'info', title: `The source's first process is ${facts.init}`,
      detail: `Enabled services: ${facts.services.join(', ') || 'none found'}.`,
      action: 'Kura starts the listening services with its own supervisor.' });
  }
  for (const l of facts.listening) {
    const skipped = NOT_STARTED[l.process];
    add({ code: 'listening', severity: 'info', title: `Port ${l.port}: ${l.process}`, detail: l.command || `listening on ${l.address}`,
      action: skipped ? `Not started in the environment: ${skipped}.` : 'Started in the environment and checked after the import.' });
  }
  if (facts.devices.length > 0) {
    add({ code: 'device-nodes', severity: 'warning', title: `${facts.devices.length} device node${facts.devices.length === 1 ? '' : 's'} outside /dev`,
      detail: facts.devices.join(', '), action: 'Left out of the copy: a container cannot make devices; it has Docker\'s /dev.' });
  }
  const network = facts.mounts.filter((m) => NETWORK_FS.has(m.type));
  if (network.length > 0) {
    add({ code: 'network-mount', severity: 'warning', title: 'Network filesystems in fstab',
      detail: network.map((m) => `${m.source} on ${m.target} (${m.type})`).join(', '),
      action: 'Not mounted in the environment: copy that data in, or have the application reach the share over the network.' });
  }
  const local = facts.mounts.filter((m) => !NETWORK_FS.has(m.type) && !LOCAL_SKIP.has(m.target) && m.type !== 'swap');
  if (local.length > 0) {
    add({ code: 'mounts', severity: 'info', title: 'Other filesystems in fstab', detail: local.map((m) => `${m.target} (${m.type})`).join(', '),
      action: 'Their files are copied only if they are on the root filesystem; a separate disk must be copied in afterwards.' });
  }
  if (facts.modules.length > 0) {
    add({ code: 'kernel-modules', severity: 'warning', title: 'Kernel modules loaded at boot', detail: facts.modules.join(', '),
      action: 'Not loaded: environments share the node\'s kernel. Ask the host to load one on the nodes if a service needs it.' });
  }
  if (facts.sysctls.length > 0) {
    add({ code: 'sysctls', severity: 'warning', title: 'Kernel settings (sysctl)', detail: facts.sysctls.join('; '),
      action: 'Not applied: they belong to the node\'s kernel, shared by every environment.' });
  }
  if (facts.addresses.length > 0) {
    add({ code: 'hard-coded-address', severity: 'warning', title: 'Addresses written into web server configuration',
      detail: facts.addresses.map((a) => `${a.file}:${a.line} ${a.address}`).join(', '),
      action: 'Listen directives on these addresses are changed to listen on every address of the environment, and each change is recorded; other uses must be checked by the operator.' });
  }
  if (facts.crontabs.length > 0) {
    add({ code: 'crontab', severity: 'info', title: 'Scheduled jobs (cron)', detail: facts.crontabs.join('; '),
      action: 'Copied; cron runs in the environment under the supervisor.' });
  }
  if (facts.users.length > 0) {
    add({ code: 'users', severity: 'info', title: 'Login users', detail: facts.users.map((u) => `${u.name} (${u.uid})`).join(', '),
      action: 'Copied with their files; logins over SSH are replaced by Kura\'s SFTP and console.' });
  }
  if (facts.networkConfig.length > 0 || facts.boot.length > 0) {
    add({ code: 'machine', severity: 'info', title: 'Boot and network configuration', detail: [...facts.networkConfig, ...facts.boot.map((b) => `/boot/${b}`)].join(', '),
      action: 'Left out: an environment has no kernel or bootloader, and its network is Docker\'s.' });
  }
  add({ code: 'kernel', severity: 'info', title: `The source runs kernel ${facts.kernel} with ${facts.libc}`,
    detail: 'The environment runs the node\'s kernel; programs built for an older kernel usually run on a newer one.',
    action: 'The import checks afterwards that every service listens and answers as on the source.' });
  return out;
}

export const hasBlocker = (list: readonly Finding[]): boolean => list.some((f) => f.severity === 'blocker');

/** What an import does with a source, worked out from its facts. */
export interface ImportPlan {
  /** Paths (absolute) left out of the copy besides the machine's own (proc, sys, dev, run, boot, modules, tmp). */
  excludes: string[];
  /** The services the supervisor starts, each as a shell command line, restarted when it stops. */
  services: { name: string; command: string }[];
  /** The ports the environment publishes (the source's listening ports, but those of services not started). */
  ports: number[];
  /** Files whose listen directives name an address, to be made to listen on every address. */
  listenFiles: string[];
  /** Ports served by a web server: their front pages are compared after the import. */
  webPorts: number[];
}

/** How a known daemon runs in the foreground (a supervisor keeps it, instead of it forking away). */
const FOREGROUND: Record<string, (command: string) => string> = {
  nginx: () => '/usr/sbin/nginx -g \'daemon off;\'',
  apache2: () => '/usr/sbin/apache2ctl -DFOREGROUND',
  httpd: (c) => (c.includes('-DFOREGROUND') ? c : '/usr/sbin/httpd -DFOREGROUND'),
  busybox: (c) => (/\bhttpd\b/.test(c) && !/ -f\b/.test(c) ? c.replace(/\bhttpd\b/, 'httpd -f') : c),
  lighttpd: () => '/usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf',
};

const WEB_SERVERS = new Set(['nginx', 'apache2', 'httpd', 'busybox', 'lighttpd']);

export function importPlan(facts: SourceFacts): ImportPlan {
  const started = facts.listening.filter((l) => !NOT_STARTED[l.process]);
  const services = new Map<string, string>();
  for (const l of started) {
    if (services.has(l.process)) continue;
    const foreground = FOREGROUND[l.process];
    services.set(l.process, foreground ? foreground(l.command) : l.command || l.process);
  }
  if (facts.crontabs.length > 0 || facts.services.includes('cron')) services.set('cron', '/usr/sbin/cron -f');
  return {
    excludes: facts.devices,
    services: [...services].map(([name, command]) => ({ name, command })),
    ports: [...new Set(started.map((l) => l.port))].sort((a, b) => a - b),
    listenFiles: [...new Set(facts.addresses.map((a) => a.file))],
    webPorts: [...new Set(started.filter((l) => WEB_SERVERS.has(l.process)).map((l) => l.port))].sort((a, b) => a - b),
  };
}

/** nginx's `listen ADDR:PORT` and Apache's `Listen ADDR:PORT` made to listen on every address; each change is returned. */
export function rewriteListen(file: string, text: string): { text: string; changes: { file: string; line: number; from: string; to: string }[] } {
  const changes: { file: string; line: number; from: string; to: string }[] = [];
  const lines = text.split('\n').map((line, i) => {
    const next = line.replace(/(\b[Ll]isten\s+)(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})/g, '$1$3');
    if (next !== line) changes.push({ file, line: i + 1, from: line.trim(), to: next.trim() });
    return next;
  });
  return { text: lines.join('\n'), changes };
}

/** The listening TCP ports in /proc/net/tcp text. */
export function listeningPorts(procNetTcp: string): number[] {
  return [...new Set(tcpListeners(procNetTcp.split('\n')).map((l) => l.port))].sort((a, b) => a - b);
}

/** The listening sockets of /proc/net/tcp(6) lines: `sl local rem st … inode`, where st 0A is LISTEN. */
function tcpListeners(lines: readonly string[]): { port: number; address: string; inode: string }[] {
  return lines.flatMap((l) => {
    const cols = l.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== '0A') return [];
    const [addrHex, portHex] = (cols[1] ?? '').split(':');
    const port = Number.parseInt(portHex ?? '', 16);
    return Number.isFinite(port) ? [{ port, address: hexAddress(addrHex ?? ''), inode: cols[9] ?? '' }] : [];
  });
}
