import type { Context } from '../../core/context.js';
import { publishEnvironment } from '../../services/environment-state.js';
import { removeEnvironmentContainers } from '../../services/node-resources.js';
import type { OperationHandler } from '../runner.js';
import { provisionHandler } from './provision.js';

/**
 * Removes the container with its data and provisions the environment again from its
 * template. Run again after a crash, it removes whatever the first run left and
 * provisions once more, so the end state is always one fresh container.
 */
export function reinstallHandler(ctx: Context): OperationHandler<'reinstall'> {
  const provision = provisionHandler(ctx);
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return 'environment no longer exists';
      step.progress(2, 'removing the old container and its data');
      await removeEnvironmentContainers(ctx, env);
      ctx.repos.environments.setContainer(env.id, null, null);
      publishEnvironment(ctx, env.id);
      const result = await provision.run(op, step);
      return result === 'environment is running' ? 'environment reinstalled and running' : result;
    },
    onFailure: (op, error) => provision.onFailure?.(op, error),
  };
}
