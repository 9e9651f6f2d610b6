import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KuraError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { parseTemplate } from '../../templates/catalog.js';
import { capturedDir } from '../../services/templates.js';
import type { OperationHandler } from '../runner.js';

/**
 * An environment captured as a template. Docker commits the container (its files and
 * settings, paused for the commit only); the image is saved, as `docker save` streams it,
 * into the panel's data folder beside a template.json that takes the source template's
 * ports, data folder, user, capabilities and checks. The folder is named only when whole,
 * so a re-run after a crash starts the copy again and never offers half an image.
 */
export function captureHandler(ctx: Context): OperationHandler<'capture'> {
  return {
    async run(op, step) {
      const { environmentId, name, version } = op.params;
      const id = op.resource.id;
      const dir = capturedDir(ctx, id, version);
      if (fs.existsSync(path.join(dir, 'template.json'))) return `template ${id} ${version} is captured`;
      const env = ctx.repos.environments.get(environmentId);
      if (!env?.containerId) throw new KuraError('conflict', 'the environment (or its container) is gone');
      const source = ctx.templates.get(env.templateId);
      if (!source) throw new KuraError('conflict', `the environment's template ${env.templateId} is no longer installed, so its settings are unknown`);
      const client = ctx.nodes.get(env.nodeId);
      step.progress(5, 'committing the environment\'s files');
      const imageId = await client.commit(env.containerId, `kura/${id}`, version);
      const expected = Math.max(1, (await client.diskUsage(env.containerId)).rootFsBytes);
      step.progress(15, 'copying the image to the panel');
      const work = `${dir}.partial-${process.pid}`;
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(work, { recursive: true, mode: 0o700 });
      let copied = 0;
      let shown = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          copied += chunk.length;
          if (Date.now() - shown > 500) {
            shown = Date.now();
            step.progress(15 + Math.min(80, Math.floor((copied / expected) * 80)), `copying the image: ${Math.round(copied / 1048576)} MiB`);
          }
          done(null, chunk);
        },
      });
      await pipeline(await client.saveImage(imageId), counter, fs.createWriteStream(path.join(work, 'image.tar')));
      const { source: _ignored, dir: _dir, id: _id, ...settings } = source;
      const file = {
        name, version, description: `captured from ${env.name} (${env.id}) of template ${source.id} ${env.templateVersion ?? source.version}`,
        source: { type: 'captured', image: 'image.tar', imageId, sizeBytes: copied, environmentId: env.id, capturedAt: new Date().toISOString() },
        // The environment's own ports (an imported one publishes what its source listened on).
        ports: env.ports.map((p) => ({ name: p.name, port: p.containerPort, protocol: p.protocol })), dataPath: settings.dataPath, user: settings.user, capabilities: settings.capabilities, command: settings.command,
        env: settings.env, workingDir: settings.workingDir, defaults: settings.defaults,
        ...(settings.healthcheck ? { healthcheck: settings.healthcheck } : {}),
      };
      fs.writeFileSync(path.join(work, 'template.json'), JSON.stringify(file, null, 2));
      // Checked as any template is before it is offered.
      parseTemplate(id, work);
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      fs.renameSync(work, dir);
      ctx.templates.add?.(parseTemplate(id, dir));
      return `template ${id} ${version} captured from ${env.name}: ${Math.round(copied / 1048576)} MiB`;
    },
    onFailure(op) {
      fs.rmSync(`${capturedDir(ctx, op.resource.id, op.params.version)}.partial-${process.pid}`, { recursive: true, force: true });
    },
  };
}
