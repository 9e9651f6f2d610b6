import fs from 'node:fs';
import path from 'node:path';
import { packImage } from './image-archive.js';
import type { ProbeImage } from '../docker/registry.js';

let cached: Promise<ProbeImage> | null = null;

/** A one-file image used to test whether a node enforces per-container disk size. */
export function probeImage(cacheDir: string): Promise<ProbeImage> {
  cached ??= (async () => {
    const dir = path.join(cacheDir, 'probe');
    const meta = path.join(dir, 'image.json');
    if (fs.existsSync(meta)) {
      const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as ProbeImage;
      if (fs.existsSync(m.archive)) return m;
    }
    const rootfs = path.join(dir, `rootfs-${process.pid}`);
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.mkdirSync(rootfs, { recursive: true });
    fs.writeFileSync(path.join(rootfs, 'probe'), 'kura disk quota probe\n');
    const out = path.join(dir, `build-${process.pid}`);
    fs.mkdirSync(out, { recursive: true });
    const built = await packImage(rootfs, { cmd: ['/probe'], env: {}, workingDir: null, user: null, exposedPorts: [], labels: {} },
      'kura/probe:1', out);
    fs.rmSync(rootfs, { recursive: true, force: true });
    const archive = path.join(dir, 'image.tar');
    fs.renameSync(built.archive, archive);
    fs.rmSync(out, { recursive: true, force: true });
    const result = { imageId: built.imageId, archive };
    fs.writeFileSync(`${meta}.${process.pid}`, JSON.stringify(result));
    fs.renameSync(`${meta}.${process.pid}`, meta);
    return result;
  })().catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}
