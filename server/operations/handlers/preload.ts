import { errorMessage, KuraError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { ensureTemplateImage } from '../../services/node-resources.js';
import type { OperationHandler } from '../runner.js';

const PARALLEL = 4;

/**
 * Loads a template into the cache of every active, online node, a few at a time,
 * reporting each node as it finishes. Nodes that fail are named in the error; the
 * ones that succeeded keep the image.
 */
export function preloadHandler(ctx: Context): OperationHandler<'preload'> {
  return {
    async run(op, step) {
      const template = ctx.templates.get(op.resource.id);
      if (!template) throw new KuraError('not_found', `template ${op.resource.id} is not installed`);
      const nodes = ctx.repos.nodes.all().filter((n) => n.state === 'active' && n.status === 'online');
      if (nodes.length === 0) return 'no active online node to load it on';
      step.progress(2, `building ${template.id}`);
      await ctx.images.resolve(template);
      const outcome = new Map<string, string>(nodes.map((n) => [n.name, 'waiting']));
      const report = () => [...outcome].map(([name, s]) => `${name}: ${s}`).join(', ');
      let done = 0;
      const failed: string[] = [];
      const queue = [...nodes];
      const worker = async () => {
        for (let node = queue.shift(); node; node = queue.shift()) {
          outcome.set(node.name, 'loading');
          try {
            await ensureTemplateImage(ctx, node.id, template);
            outcome.set(node.name, 'loaded');
          } catch (err) {
            outcome.set(node.name, `failed (${errorMessage(err)})`);
            failed.push(node.name);
          }
          done++;
          step.progress(5 + (done / nodes.length) * 95, `${done}/${nodes.length} nodes. ${report()}`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, nodes.length) }, worker));
      if (failed.length > 0) throw new KuraError('node_unavailable', `${template.id} could not be loaded on ${failed.join(', ')}. ${report()}`);
      return `${template.id} is cached on ${nodes.length} nodes. ${report()}`;
    },
  };
}
