import fs from 'node:fs';
import type Docker from 'dockerode';
import { NodeCallError } from '../lib/errors.js';
import type { CallMode } from './node-gate.js';
import { isNotFound } from './errors.js';
import { OUTPUT_CAP_BYTES, readCapped } from './output.js';
import type { PanelImage } from './panel-image.js';

/** What a node's images need from its client: deadline-wrapped calls and its connections. */
export interface ImageNode {
  name: string;
  api: Docker;
  /** The connection for long transfers (loads, pulls, saves). */
  bulk: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number, mode?: CallMode): Promise<T>;
}

const LOAD_TIMEOUT_MS = 15 * 60_000;

/** Images on one node: present or not, loaded from an archive, pulled, committed from a container, saved. */
export class NodeImages {
  constructor(private readonly node: ImageNode) {}

  async has(ref: string): Promise<boolean> {
    try {
      await this.node.call('image inspect', () => this.node.api.getImage(ref).inspect());
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Loads one of the panel's own images unless the node has it. */
  async ensure(image: PanelImage): Promise<void> {
    if (!(await this.has(image.imageId))) await this.load(image.archive);
  }

  /** Loads a `docker save` archive; resolves when the engine has read all of it. */
  async load(archive: string): Promise<void> {
    await this.node.call('image load', async () => {
      const stream = await this.node.bulk.loadImage(fs.createReadStream(archive), { quiet: true });
      const body = (await readCapped(stream, OUTPUT_CAP_BYTES, 'tail')).text;
      // The engine answered: a broken archive is the call's failure, not the node's (the breaker stays closed).
      if (/"error"/.test(body)) throw new NodeCallError(this.node.name, 'image load', 500, body.slice(0, 500));
    }, LOAD_TIMEOUT_MS, 'transfer');
  }

  async pull(reference: string): Promise<void> {
    await this.node.call('image pull', async () => {
      const stream = await this.node.bulk.pull(reference);
      const body = (await readCapped(stream, OUTPUT_CAP_BYTES, 'tail')).text;
      const failed = /"error":\s*"([^"]*)"/.exec(body);
      if (failed) throw new NodeCallError(this.node.name, 'image pull', 500, failed[1] ?? 'pull failed');
    }, LOAD_TIMEOUT_MS, 'transfer');
  }

  /** A container's filesystem and settings as a new image (Docker pauses it for the commit); answers the image id. */
  async commit(containerId: string, repo: string, tag: string): Promise<string> {
    const r = await this.node.call('container commit', () => this.node.bulk.getContainer(containerId).commit({ repo, tag, pause: true }) as Promise<{ Id: string }>,
      LOAD_TIMEOUT_MS, 'transfer');
    return r.Id;
  }

  /** An image as `docker save` makes it (loadable on any node), streamed. */
  async save(ref: string): Promise<NodeJS.ReadableStream> {
    return this.node.call('image save', () => this.node.bulk.getImage(ref).get(), LOAD_TIMEOUT_MS, 'transfer');
  }
}
