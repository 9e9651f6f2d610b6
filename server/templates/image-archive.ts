import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../lib/exec.js';

export interface ImageConfig {
  cmd: string[];
  env: Record<string, string>;
  workingDir: string | null;
  user: string | null;
  exposedPorts: string[];
  labels: Record<string, string>;
}

export interface BuiltImage {
  /** Docker's image id: sha256 of the image config, the same on every node. */
  imageId: string;
  repoTag: string;
  archive: string;
  sizeBytes: number;
}

const EPOCH = '1970-01-01T00:00:00Z';

/**
 * Packs a root filesystem folder as a `docker save` archive with one layer. Loading
 * this archive gives the same image id on every node, so "is the template cached
 * on this node" is a single inspect by id.
 */
export async function packImage(rootfs: string, config: ImageConfig, repoTag: string, outDir: string): Promise<BuiltImage> {
  const work = path.join(outDir, 'archive');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const layerTmp = path.join(work, 'layer.tar');
  await run('tar', ['--sort=name', '--numeric-owner', '--xattrs', '-C', rootfs, '-cf', layerTmp, '.'], { timeoutMs: 10 * 60_000 });
  const diffId = await sha256File(layerTmp);
  const imageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: EPOCH,
    config: {
      Cmd: config.cmd,
      Env: Object.entries(config.env).map(([k, v]) => `${k}=${v}`)
        .concat(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']),
      WorkingDir: config.workingDir ?? '',
      User: config.user ?? '',
      ExposedPorts: Object.fromEntries(config.exposedPorts.map((p) => [p, {}])),
      Labels: config.labels,
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created: EPOCH, created_by: 'kura template build' }],
  };
  const configJson = JSON.stringify(imageConfig);
  const imageId = createHash('sha256').update(configJson).digest('hex');
  fs.mkdirSync(path.join(work, diffId));
  fs.renameSync(layerTmp, path.join(work, diffId, 'layer.tar'));
  fs.writeFileSync(path.join(work, `${imageId}.json`), configJson);
  fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([
    { Config: `${imageId}.json`, RepoTags: [repoTag], Layers: [`${diffId}/layer.tar`] },
  ]));
  const archive = path.join(outDir, 'image.tar');
  await run('tar', ['-C', work, '-cf', `${archive}.tmp`, 'manifest.json', `${imageId}.json`, `${diffId}/layer.tar`], { timeoutMs: 10 * 60_000 });
  fs.renameSync(`${archive}.tmp`, archive);
  fs.rmSync(work, { recursive: true, force: true });
  return { imageId: `sha256:${imageId}`, repoTag, archive, sizeBytes: fs.statSync(archive).size };
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file).on('error', reject).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex')));
  });
}
