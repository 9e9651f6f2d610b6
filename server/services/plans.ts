import type { Plan } from '../domain/types.js';
import { DEFAULT_BACKUP_POLICY, type BackupPolicy } from '../domain/backups.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Context } from '../core/context.js';

export interface PlanInput {
  name: string;
  cpus: number;
  memoryMb: number;
  swapMb?: number | undefined;
  diskMb: number;
  pids: number;
  nofile?: number | undefined;
  selectable?: boolean | undefined;
  backups?: Partial<BackupPolicy> | undefined;
}

/** Open files per process when a plan does not say: bounded (CIS Docker Benchmark 5.19), and plenty for a web server. */
const DEFAULT_NOFILE = 16384;

export function createPlan(ctx: Context, input: PlanInput): Plan {
  if (ctx.repos.plans.byName(input.name)) throw new ConflictError(`a plan named ${input.name} exists`, { field: 'name' });
  return ctx.repos.plans.insert({ id: newId('plan'), ...input, swapMb: input.swapMb ?? 0, nofile: input.nofile ?? DEFAULT_NOFILE,
    selectable: input.selectable ?? false, backups: { ...DEFAULT_BACKUP_POLICY, ...input.backups } });
}

export function getPlan(ctx: Context, id: string): Plan {
  const plan = ctx.repos.plans.get(id);
  if (!plan) throw new NotFoundError('plan', id);
  return plan;
}

/** Edits a plan. Environments keep the limits they were given until they are resized onto it. */
export function updatePlan(ctx: Context, id: string, patch: Partial<PlanInput>): Plan {
  const plan = getPlan(ctx, id);
  if (patch.name !== undefined && patch.name !== plan.name && ctx.repos.plans.byName(patch.name)) {
    throw new ConflictError(`a plan named ${patch.name} exists`, { field: 'name' });
  }
  const next = { ...plan, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as Plan;
  // The backup policy changes field by field, like the plan.
  if (patch.backups) next.backups = { ...plan.backups, ...patch.backups };
  ctx.repos.plans.update(next);
  return getPlan(ctx, id);
}

export function deletePlan(ctx: Context, id: string): void {
  getPlan(ctx, id);
  ctx.repos.db.transaction(() => {
    const n = ctx.repos.plans.environmentsUsing(id);
    if (n > 0) throw new ConflictError(`plan is used by ${n} environments`);
    ctx.repos.plans.remove(id);
  }).immediate();
}
