import { LABEL } from '../docker/container-spec.js';
import { healthOf, type ContainerEvent } from '../docker/container-events.js';
import type { EnvironmentState } from '../domain/types.js';
import { nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';
import { publishEnvironment } from '../services/environment-state.js';
import { reconcileEnvironment } from './reconcile.js';

/** States an operation owns: events do not overwrite them, the operation sets the outcome. */
const OWNED_BY_OPERATION = new Set<EnvironmentState>(['provisioning', 'deleting', 'migrating']);

/**
 * Applies one Docker container event from a node to the panel's state: the environment's
 * state follows its container within the event's delivery time, and its history grows.
 */
export async function applyContainerEvent(ctx: Context, nodeId: string, e: ContainerEvent): Promise<void> {
  const env = ctx.repos.environments.get(e.labels[LABEL.environment] ?? '');
  if (!env || env.nodeId !== nodeId) return;
  // An event of another container of this environment (one a move or a retried create removed,
  // delivered late) says nothing about the one the environment runs in now.
  if (env.containerId !== null && e.containerId !== env.containerId && e.action !== 'destroy') return;
  const at = new Date(Math.floor(e.timeNano / 1e6)).toISOString();
  const setState = (state: EnvironmentState) => {
    if (OWNED_BY_OPERATION.has(env.state) || env.state === state) return;
    ctx.repos.environments.setState(env.id, state);
  };
  switch (e.action) {
    case 'start':
      ctx.repos.history.add(env.id, 'started', { at });
      setState('running');
      if (env.drift?.differences.some((d) => d.field === 'state')) ctx.repos.environments.setDrift(env.id, null);
      break;
    case 'die':
      if (env.health !== null) ctx.repos.environments.setHealth(env.id, null);
      ctx.repos.history.add(env.id, 'died', { at, exitCode: e.exitCode, message: `exit code ${e.exitCode ?? 'unknown'}` });
      setState('stopped');
      break;
    case 'stop':
      ctx.repos.history.add(env.id, 'stopped', { at });
      setState('stopped');
      // Stopped by someone other than the panel: flagged, not restarted behind the operator's back.
      if (env.desiredState === 'running' && ctx.repos.operations.openFor(env.id).length === 0) {
        ctx.repos.environments.setDrift(env.id, { detectedAt: nowIso(), differences: [{ field: 'state', expected: 'running', actual: 'stopped' }] });
      }
      break;
    case 'oom':
      ctx.repos.history.add(env.id, 'oom', { at, message: `a process hit the ${env.limits.memoryMb} MiB memory limit and was killed` });
      break;
    case 'destroy':
      if (env.state !== 'deleting' && ctx.repos.operations.openFor(env.id).length === 0 && e.containerId === env.containerId) {
        ctx.repos.history.add(env.id, 'removed', { at, message: 'the container was removed outside the panel' });
        ctx.repos.environments.setDrift(env.id, { detectedAt: nowIso(), differences: [{ field: 'container', expected: 'present', actual: 'missing' }] });
        ctx.repos.environments.setState(env.id, 'error');
      }
      break;
    case 'update':
      await reconcileEnvironment(ctx, env.id);
      break;
    case 'health_status': {
      // The template's health check ran (CIS 5.27): the environment shows whether it serves, not only that it runs.
      const health = healthOf(e.detail);
      if (health === env.health) return;
      ctx.repos.environments.setHealth(env.id, health);
      break;
    }
    default:
      return;
  }
  publishEnvironment(ctx, env.id);
}
