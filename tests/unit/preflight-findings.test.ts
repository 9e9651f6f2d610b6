import { describe, expect, it } from 'vitest';
import { dockerArch, findings, hasBlocker, isComplete, parseFacts } from '../../server/domain/imports.js';

const OUTPUT = `@@os
PRETTY_NAME="CentOS Linux 7 (Core)"
@@arch
aarch64
@@kernel
3.10.0-1160.el7.aarch64
@@libc
ldd (GNU libc) 2.17
@@init
systemd
@@enabled
httpd.service
mariadb.service
sshd.service
@@tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000    27        0 222 1 0 100 0 0 10 0
   2: 0100007F:0CEA 0100007F:9C40 01 00000000:00000000 00:00000000 00000000    27        0 333 1 0 100 0 0 10 0
@@sockets
41 socket:[111] httpd
77 socket:[222] mysqld
@@cmdlines
41 /usr/sbin/httpd -DFOREGROUND
77 /usr/libexec/mysqld --basedir=/usr
@@du
2097152	/
@@passwd
root:x:0:0:root:/root:/bin/bash
shop:x:1001:1001::/home/shop:/bin/bash
nologin:x:1002:1002::/home/x:/sbin/nologin
@@crontab
0 3 * * * root /usr/local/bin/backup.sh
@@crond
0hourly
@@usercrons
shop
@@fstab
/dev/mapper/centos-root / xfs defaults 0 0
/dev/sdb1 /data ext4 defaults 0 0
fileserver:/exports /mnt/files nfs4 defaults 0 0
UUID=x swap swap defaults 0 0
@@modules
@@sysctl
@@devices
@@addresses
/etc/httpd/conf/httpd.conf:42:192.168.1.20
@@network
/etc/sysconfig/network-scripts
@@boot
vmlinuz-3.10.0-1160.el7.aarch64
@@end
`;

describe('preflight facts and findings', () => {
  const facts = parseFacts(OUTPUT, 'SHA256:abc');

  it('reads the facts from the script\'s sections', () => {
    expect(isComplete(OUTPUT)).toBe(true);
    expect(isComplete(OUTPUT.replace('@@end', ''))).toBe(false);
    expect(facts).toMatchObject({ distro: 'CentOS Linux 7 (Core)', arch: 'aarch64', libc: 'ldd (GNU libc) 2.17', init: 'systemd', diskMb: 2048,
      services: ['httpd', 'mariadb', 'sshd'], hostKey: 'SHA256:abc' });
    // Listening sockets only (state 0A), each with its process and command; addresses decoded.
    expect(facts.listening).toEqual([
      { port: 80, address: '0.0.0.0', process: 'httpd', command: '/usr/sbin/httpd -DFOREGROUND' },
      { port: 3306, address: '127.0.0.1', process: 'mysqld', command: '/usr/libexec/mysqld --basedir=/usr' },
    ]);
    expect(facts.users).toEqual([{ name: 'shop', uid: 1001, home: '/home/shop' }]);
    expect(facts.crontabs).toEqual(['/etc/crontab: 0 3 * * * root /usr/local/bin/backup.sh', '/etc/cron.d/0hourly', 'crontab of shop']);
    expect(facts.addresses).toEqual([{ file: '/etc/httpd/conf/httpd.conf', line: 42, address: '192.168.1.20' }]);
  });

  it('makes another architecture and a too-small disk the only blockers; the rest are warnings or information with an action', () => {
    const list = findings(facts, { nodeArch: 'amd64', planDiskMb: 1024 });
    expect(list.filter((f) => f.severity === 'blocker').map((f) => f.code).sort()).toEqual(['architecture', 'disk']);
    expect(hasBlocker(list)).toBe(true);
    const byCode = new Map(list.map((f) => [f.code, f]));
    expect(byCode.get('init')?.severity).toBe('warning');
    expect(byCode.get('network-mount')?.detail).toBe('fileserver:/exports on /mnt/files (nfs4)');
    expect(byCode.get('mounts')?.detail).toBe('/data (ext4)');
    expect(byCode.get('hard-coded-address')?.severity).toBe('warning');
    expect(byCode.get('machine')?.detail).toContain('/boot/vmlinuz-3.10.0-1160.el7.aarch64');
    expect(byCode.has('kernel-modules')).toBe(false);
    expect(list.every((f) => f.action.length > 10)).toBe(true);
    const same = findings({ ...facts, arch: 'x86_64' }, { nodeArch: dockerArch('x86_64'), planDiskMb: 4096 });
    expect(hasBlocker(same)).toBe(false);
  });
});

describe('the networks an import may reach (KURA_IMPORT_SOURCES)', () => {
  it('admits IP addresses inside the given networks only, and never a host name (resolving it would reach out)', async () => {
    const { sourceAllowed } = await import('../../server/services/imports.js');
    const nets = ['10.231.0.0/16', '127.0.0.0/8', 'fd00::/8'];
    expect(sourceAllowed('10.231.251.2', nets)).toBe(true);
    expect(sourceAllowed('127.0.0.1', nets)).toBe(true);
    expect(sourceAllowed('fd12::1', nets)).toBe(true);
    expect(sourceAllowed('10.232.0.1', nets)).toBe(false);
    expect(sourceAllowed('192.168.1.20', nets)).toBe(false);
    expect(sourceAllowed('legacy.example.com', nets)).toBe(false);
    expect(sourceAllowed('localhost', nets)).toBe(false);
  });
});
