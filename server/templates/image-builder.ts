import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Template } from '../domain/types.js';
import { run } from '../lib/exec.js';
import { packImage, type BuiltImage } from './image-archive.js';
import { busyboxSource } from './sources/busybox.js';
import { debootstrapSource } from './sources/debootstrap.js';
import type { RootfsSource } from './sources/source.js';

/** What a node needs to run a template: a built archive to load, or a registry reference. */
export type TemplateImage =
  | ({ kind: 'archive' } & BuiltImage)
  | { kind: 'registry'; reference: string };

export interface TemplateImages {
  resolve(template: Template): Promise<TemplateImage>;
  /** The template's image if it was already built or resolved in this process. */
  peek(templateId: string): TemplateImage | undefined;
}

/**
 * Builds each template's image once on the panel host and caches it by a digest of
 * everything that went into it; concurrent callers (in this process or others
 * sharing the cache folder) wait for one build.
 */
export function templateImages(opts: { cacheDir: string; debianMirror?: string; log?: (line: string) => void }): TemplateImages {
  const sources: Record<'busybox' | 'debootstrap', RootfsSource> = {
    busybox: busyboxSource,
    debootstrap: debootstrapSource(opts.debianMirror),
  };
  const inFlight = new Map<string, Promise<TemplateImage>>();
  // Templates do not change while the panel runs, so the digest is worked out once per template.
  const resolved = new Map<string, TemplateImage>();
  const log = opts.log ?? (() => {});

  async function build(template: Template): Promise<TemplateImage> {
    if (template.source.type === 'registry') return { kind: 'registry', reference: template.source.reference };
    if (template.source.type === 'captured') throw new Error(`template ${template.id} is captured, not built`);
    const source = sources[template.source.type];
    const key = await cacheKey(template, source);
    const dir = path.join(opts.cacheDir, `${template.id}-${key.slice(0, 16)}`);
    const metaFile = path.join(dir, 'image.json');
    const cached = readMeta(metaFile);
    if (cached) return cached;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const release = await lock(path.join(dir, 'build.lock'));
    try {
      const again = readMeta(metaFile);
      if (again) return again;
      const rootfs = path.join(dir, 'rootfs');
      fs.rmSync(rootfs, { recursive: true, force: true });
      fs.mkdirSync(rootfs);
      log(`building template ${template.id} (${template.source.type})`);
      await source.build(template, rootfs, log);
      await applyOverlay(template, rootfs);
      const built = await packImage(rootfs, {
        cmd: template.command,
        env: template.env,
        workingDir: template.workingDir,
        user: template.user,
        exposedPorts: template.ports.map((p) => `${p.port}/${p.protocol}`),
        labels: { 'io.kura.template': template.id, 'io.kura.template.version': template.version },
      }, `kura/${template.id}:${template.version}`, dir);
      fs.rmSync(rootfs, { recursive: true, force: true });
      const image: TemplateImage = { kind: 'archive', ...built };
      fs.writeFileSync(`${metaFile}.tmp`, JSON.stringify(image));
      fs.renameSync(`${metaFile}.tmp`, metaFile);
      log(`template ${template.id} built: ${built.imageId} (${Math.round(built.sizeBytes / 1048576)} MiB)`);
      return image;
    } finally {
      release();
    }
  }

  return {
    peek: (templateId) => resolved.get(templateId),
    resolve(template) {
      // A captured template's image is already saved; a newer version of the id is another image.
      if (template.source.type === 'captured') {
        const archive = path.join(template.dir, template.source.image);
        if (!fs.existsSync(archive)) return Promise.reject(new Error(`the captured image of template ${template.id} is missing (${archive})`));
        const image: TemplateImage = { kind: 'archive', archive, imageId: template.source.imageId, sizeBytes: template.source.sizeBytes,
          repoTag: `kura/${template.id}:${template.version}` };
        resolved.set(template.id, image);
        return Promise.resolve(image);
      }
      const done = resolved.get(template.id);
      if (done && (done.kind === 'registry' || fs.existsSync(done.archive))) return Promise.resolve(done);
      const existing = inFlight.get(template.id);
      if (existing) return existing;
      const p = build(template).then((image) => {
        resolved.set(template.id, image);
        return image;
      }).finally(() => inFlight.delete(template.id));
      inFlight.set(template.id, p);
      return p;
    },
  };
}

async function cacheKey(template: Template, source: RootfsSource): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...template, dir: undefined }));
  hash.update(await source.fingerprint(template));
  const overlay = 'overlay' in template.source ? template.source.overlay : undefined;
  if (overlay) for (const file of listFiles(path.join(template.dir, overlay))) {
    hash.update(file.rel);
    hash.update(file.link ?? fs.readFileSync(file.abs));
  }
  return hash.digest('hex');
}

async function applyOverlay(template: Template, rootfs: string): Promise<void> {
  const overlay = 'overlay' in template.source ? template.source.overlay : undefined;
  if (overlay) {
    fs.cpSync(path.join(template.dir, overlay), rootfs, { recursive: true, verbatimSymlinks: true, force: true });
  }
  if (template.user && template.dataPath) {
    const target = path.join(rootfs, template.dataPath);
    fs.mkdirSync(target, { recursive: true });
    await run('chown', ['-R', template.user, target]);
  }
}

function listFiles(root: string, rel = ''): { rel: string; abs: string; link: string | null }[] {
  const out: { rel: string; abs: string; link: string | null }[] = [];
  for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = path.join(rel, entry.name);
    const abs = path.join(root, r);
    if (entry.isDirectory()) out.push(...listFiles(root, r));
    else out.push({ rel: r, abs, link: entry.isSymbolicLink() ? fs.readlinkSync(abs) : null });
  }
  return out;
}

function readMeta(file: string): TemplateImage | null {
  try {
    const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as TemplateImage;
    if (meta.kind === 'archive' && fs.existsSync(meta.archive)) return meta;
  } catch {
    // no finished build yet
  }
  return null;
}

/** A lock file holding the builder's pid; a lock whose process is gone is taken over. */
async function lock(file: string): Promise<() => void> {
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
