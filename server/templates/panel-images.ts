import fs from 'node:fs';
import path from 'node:path';
import type { PanelImage } from '../docker/panel-image.js';
import { packImage } from './image-archive.js';
import { BUSYBOX, assertStaticBusybox } from './sources/busybox.js';
import { edgeBootConfig, EDGE_CONFIG_FILE } from '../domain/edge.js';
import { run } from '../lib/exec.js';


const cached = new Map<string, Promise<PanelImage>>();

/** A one-file image used to test whether a node enforces per-container disk size. */
export function probeImage(cacheDir: string): Promise<PanelImage> {
  return panelImage(cacheDir, 'probe', 'kura/probe:1', ['/probe'], async (rootfs) => {
    fs.writeFileSync(path.join(rootfs, 'probe'), 'kura disk quota probe\n');
  });
}

/**
 * A static busybox alone: what the panel runs beside an environment (in its process
 * namespace) to end a console's processes without using anything inside the container.
 */
export function toolsImage(cacheDir: string): Promise<PanelImage> {
  return panelImage(cacheDir, 'tools', 'kura/tools:1', ['/bin/busybox', 'true'], async (rootfs) => {
    await assertStaticBusybox();
    for (const dir of ['bin', 'proc', 'sys', 'dev', 'etc']) fs.mkdirSync(path.join(rootfs, dir), { mode: 0o755 });
    fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  });
}

export const CADDY = '/usr/bin/caddy';

/**
 * The edge: Debian's Caddy and the shared libraries it links (read from ldd), nothing else.
 * Caddy is a well-kept proxy that reloads a whole configuration atomically without dropping
 * connections, terminates TLS with SNI, and is a single binary the lab can install.
 */
export function edgeImage(cacheDir: string): Promise<PanelImage> {
  return panelImage(cacheDir, 'edge', 'kura/edge:1', [CADDY, 'run', '--resume', '--config', EDGE_CONFIG_FILE], async (rootfs) => {
    if (!fs.existsSync(CADDY)) throw new Error(`${CADDY} is missing: install Debian's caddy package (apt-get install caddy) to run the edge`);
    for (const dir of ['etc/kura-edge', 'var/lib/kura-edge', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(rootfs, dir), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    await copyWithLibraries(CADDY, rootfs);
    // The configuration it starts with until the panel gives it the fleet's: nothing served.
    fs.writeFileSync(path.join(rootfs, EDGE_CONFIG_FILE), JSON.stringify(edgeBootConfig()));
  });
}

export const RESTIC = '/usr/bin/restic';
export const BTRFS = '/usr/bin/btrfs';

/**
 * The node side of backups: Debian's restic (the backup engine) and btrfs (the snapshot that
 * freezes an environment's state in an instant), with the libraries they link and a static
 * busybox for the shell that joins them. It reads no network: its repository is reached
 * through its own standard streams (see docker/backup-agent.ts).
 */
export function backupImage(cacheDir: string): Promise<PanelImage> {
  return panelImage(cacheDir, 'backup', 'kura/backup:1', ['/bin/busybox', 'sleep', '2147483647'], async (rootfs) => {
    for (const [file, pkg] of [[RESTIC, 'restic'], [BTRFS, 'btrfs-progs']] as const) {
      if (!fs.existsSync(file)) throw new Error(`${file} is missing: install Debian's ${pkg} package (apt-get install ${pkg}) to take backups`);
    }
    await assertStaticBusybox();
    for (const dir of ['bin', 'proc', 'sys', 'dev', 'etc', 'root', 'docker']) fs.mkdirSync(path.join(rootfs, dir), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh'));
    for (const binary of [RESTIC, BTRFS]) await copyWithLibraries(binary, rootfs);
  });
}

/** A binary and the shared libraries ldd says it links, at the same paths inside `rootfs`. */
async function copyWithLibraries(binary: string, rootfs: string): Promise<void> {
  const libs = (await run('ldd', [binary])).stdout.split('\n').map((l) => /(\/\S+) \(0x/.exec(l)?.[1]).filter((f): f is string => !!f);
  for (const file of [binary, ...libs]) {
    const to = path.join(rootfs, file);
    if (fs.existsSync(to)) continue;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(fs.realpathSync(file), to);
    fs.chmodSync(to, 0o755);
  }
}

/** Built once per cache folder and kept there; the archive gives the same image id on every node. */
function panelImage(cacheDir: string, name: string, repoTag: string, cmd: string[], fill: (rootfs: string) => Promise<void>): Promise<PanelImage> {
  const dir = path.join(cacheDir, name);
  let image = cached.get(dir);
  if (image) return image;
  image = (async () => {
    const meta = path.join(dir, 'image.json');
    if (fs.existsSync(meta)) {
      const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as PanelImage;
      if (fs.existsSync(m.archive)) return m;
    }
    const rootfs = path.join(dir, `rootfs-${process.pid}`);
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.mkdirSync(rootfs, { recursive: true });
    await fill(rootfs);
    const out = path.join(dir, `build-${process.pid}`);
    fs.mkdirSync(out, { recursive: true });
    const built = await packImage(rootfs, { cmd, env: {}, workingDir: null, user: null, exposedPorts: [], labels: {} }, repoTag, out);
    fs.rmSync(rootfs, { recursive: true, force: true });
    const archive = path.join(dir, 'image.tar');
    fs.renameSync(built.archive, archive);
    fs.rmSync(out, { recursive: true, force: true });
    const result = { imageId: built.imageId, archive };
    fs.writeFileSync(`${meta}.${process.pid}`, JSON.stringify(result));
    fs.renameSync(`${meta}.${process.pid}`, meta);
    return result;
  })().catch((err: unknown) => {
    cached.delete(dir);
    throw err;
  });
  cached.set(dir, image);
  return image;
}
