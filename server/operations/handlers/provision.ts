import { containerName, containerSpec, LABEL } from '../../docker/container-spec.js';
import { isConflict } from '../../docker/errors.js';
import type { Environment } from '../../domain/types.js';
import { HostPortTakenError, KuraError, NodeResourceMissingError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { assertDiskHoldsImage, ensureCustomerNetwork, ensureTemplateImage, forgetNodeResources } from '../../services/node-resources.js';
import { setEnvironmentState } from '../../services/environment-state.js';
import type { OperationHandler } from '../runner.js';
import { restoreNewEnvironment } from './backups.js';

/**
 * Creates an environment's container and starts it. Safe to run again after a crash
 * at any point: the container's name is derived from the environment id, so a
 * second create meets Docker's name conflict and adopts the first container.
 */
export function provisionHandler(ctx: Context): OperationHandler<'provision' | 'reinstall'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return 'environment no longer exists';
      const template = ctx.templates.get(env.templateId);
      if (!template) throw new KuraError('conflict', `template ${env.templateId} is no longer installed on this panel`);
      const node = ctx.repos.nodes.get(env.nodeId)!;
      const client = ctx.nodes.get(env.nodeId);

      step.progress(5, 'preparing the template image');
      const image = await ensureTemplateImage(ctx, env.nodeId, template);
      const built = ctx.images.peek(template.id);
      assertDiskHoldsImage(node, template, built?.kind === 'archive' ? built.sizeBytes : undefined, env.limits.diskMb);
      step.progress(60, 'creating the network');
      await ensureCustomerNetwork(ctx, env.nodeId, env.customerId);
      step.progress(70, 'creating the container');
      const spec = containerSpec({ environment: env, template, node, image, panelId: ctx.panelId });
      let containerId: string;
      try {
        containerId = await client.createContainer(spec);
      } catch (err) {
        if (isConflict(err)) {
          containerId = await adopt(ctx, env);
        } else if (err instanceof NodeResourceMissingError) {
          // The node lost something we believed it had (wiped or changed out of band): check again once.
          forgetNodeResources(ctx, env.nodeId);
          await ensureTemplateImage(ctx, env.nodeId, template);
          await ensureCustomerNetwork(ctx, env.nodeId, env.customerId);
          containerId = await client.createContainer(spec);
        } else {
          throw err;
        }
      }
      ctx.repos.environments.setContainer(env.id, containerId, image);
      ctx.repos.environments.setTemplateVersion(env.id, template.version);
      if ('fromBackup' in op.params && op.params.fromBackup) {
        step.progress(75, 'restoring the backup\'s files');
        await restoreNewEnvironment(ctx, op.params.fromBackup, env.nodeId, containerId);
      }
      const current = ctx.repos.environments.get(env.id)!;
      // A delete that came in meanwhile waits behind this operation; leave the state to it.
      if (current.state === 'deleting') return 'environment is being deleted';
      // A customer suspended while this ran gets a stopped environment; resuming starts it. Read
      // together with setContainer above: a suspension after this point sees the container and
      // queues its stop behind this operation.
      if (ctx.repos.customers.get(env.customerId)?.status === 'suspended') {
        setEnvironmentState(ctx, env.id, 'stopped');
        return 'environment is created (stopped: the customer is suspended)';
      }
      if (current.desiredState === 'running') {
        step.progress(85, 'starting');
        await startFreeingPorts(ctx, current, containerId, async () => {
          const moved = ctx.repos.environments.get(env.id)!;
          const again = await client.createContainer(containerSpec({ environment: moved, template, node, image, panelId: ctx.panelId }));
          ctx.repos.environments.setContainer(env.id, again, image);
          return again;
        });
        setEnvironmentState(ctx, env.id, 'running');
        return 'environment is running';
      }
      setEnvironmentState(ctx, env.id, 'stopped');
      return 'environment is created (stopped)';
    },
    onFailure(op) {
      if (ctx.repos.environments.get(op.resource.id)) setEnvironmentState(ctx, op.resource.id, 'error');
    },
  };
}

/**
 * Starts the container; when a host port turns out to be held by something the panel
 * does not manage, the port moves to the next free one and the container is made again.
 */
async function startFreeingPorts(ctx: Context, env: Environment, containerId: string,
  recreate: () => Promise<string>): Promise<void> {
  let id = containerId;
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.nodes.get(env.nodeId).start(id);
      return;
    } catch (err) {
      if (!(err instanceof HostPortTakenError)) throw err;
      const port = err.port;
      const binding = env.ports.find((p) => p.hostPort === port) ?? ctx.repos.environments.get(env.id)!.ports.find((p) => p.hostPort === port);
      if (!binding || attempt >= 20) throw err;
      ctx.log.info({ environment: env.id, port }, 'host port held outside the panel; moving to another');
      ctx.repos.environments.movePort(env.id, binding.name, env.nodeId, binding.protocol, port);
      await ctx.nodes.get(env.nodeId).remove(id);
      id = await recreate();
    }
  }
}

async function adopt(ctx: Context, env: Environment): Promise<string> {
  const existing = await ctx.nodes.get(env.nodeId).inspect(containerName(env.id));
  if (!existing || existing.labels[LABEL.environment] !== env.id) {
    throw new KuraError('conflict', `a container named ${containerName(env.id)} exists on the node but is not this environment's`);
  }
  return existing.id;
}
