// Test images without a registry: a static busybox turned into a 2 MB rootfs tar, kept in the
// lab dir and `docker import`ed into nodes on demand.
import { access, chmod, mkdir, mkdtemp, rm, symlink, copyFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';
import { dockerCliArgs, type LabNode } from './lab.js';
import { labDir } from './paths.js';

const BUSYBOX = '/bin/busybox';

async function ensureBusybox(): Promise<void> {
  try {
    await access(BUSYBOX);
  } catch {
    process.stderr.write('kura-lab: /bin/busybox missing; installing busybox-static with apt-get\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
    await run('apt-get', ['install', '-y', 'busybox-static'], { env, timeoutMs: 600_000 });
  }
}

/** Path of a tar holding /bin/busybox plus a symlink per applet (sh, httpd, dd, ...). */
export async function busyboxRootfsTar(opts: { dir?: string } = {}): Promise<string> {
  const images = path.join(labDir(opts.dir), 'images');
  const tar = path.join(images, 'busybox-rootfs.tar');
  try {
    await access(tar);
    return tar;
  } catch {
    // build it below
  }
  await ensureBusybox();
  await mkdir(images, { recursive: true });
  const root = await mkdtemp(path.join(images, 'rootfs-'));
  try {
    // mkdtemp makes the folder 0700; as the image's / that would lock out every non-root user.
    await chmod(root, 0o755);
    for (const d of ['bin', 'tmp', 'etc', 'proc', 'sys', 'dev', 'www']) await mkdir(path.join(root, d));
    await copyFile(BUSYBOX, path.join(root, 'bin', 'busybox'));
    const { stdout } = await run(BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n').map((s) => s.trim())) {
      if (applet && applet !== 'busybox' && !applet.includes('/')) {
        await symlink('busybox', path.join(root, 'bin', applet));
      }
    }
    const tmp = `${tar}.${process.pid}.tmp`;
    await run('tar', ['-C', root, '-cf', tmp, '.']);
    // Renamed into place so a concurrent or interrupted build never leaves half a tar.
    await rename(tmp, tar);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return tar;
}

/** `docker import` the busybox rootfs into a node as `ref` (PATH set so `sh -c` works). */
export async function importBusybox(node: LabNode, ref = 'busybox:lab', opts: { dir?: string } = {}): Promise<void> {
  const tar = await busyboxRootfsTar(opts);
  await run('docker', [
    ...dockerCliArgs(node), 'import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', tar, ref,
  ]);
}
