import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../lib/exec.js';
import { sha256File } from '../image-archive.js';
import type { RootfsSource } from './source.js';

export const BUSYBOX = '/bin/busybox';

/** A two-megabyte root filesystem: a static busybox and its applet links. Works offline. */
export const busyboxSource: RootfsSource = {
  async fingerprint() {
    await assertStaticBusybox();
    return `busybox:${await sha256File(BUSYBOX)}`;
  },

  async build(_template, rootfs) {
    await assertStaticBusybox();
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'var/log', 'home/www']) {
      fs.mkdirSync(path.join(rootfs, dir), { recursive: true, mode: 0o755 });
    }
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    fs.mkdirSync(path.join(rootfs, 'root'), { mode: 0o700 });
    fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    const applets = (await run(BUSYBOX, ['--list-full'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    for (const applet of applets) {
      const link = path.join(rootfs, applet);
      if (applet === 'bin/busybox' || fs.existsSync(link)) continue;
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync('/bin/busybox', link);
    }
    fs.writeFileSync(path.join(rootfs, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000:www:/home/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nwww:x:1000:\nnogroup:x:65534:\n');
    fs.chownSync(path.join(rootfs, 'home/www'), 1000, 1000);
  },
};

export async function assertStaticBusybox(): Promise<void> {
  if (!fs.existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: install the Debian package busybox-static`);
  }
  const out = await run('ldd', [BUSYBOX]).then((r) => r.stdout, (err: Error) => err.message);
  if (!/not a dynamic executable|statically linked/.test(out)) {
    throw new Error(`${BUSYBOX} is dynamically linked: install the Debian package busybox-static`);
  }
}
