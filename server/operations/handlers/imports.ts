import { dockerArch, findings, isComplete, parseFacts } from '../../domain/imports.js';
import { KuraError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { PREFLIGHT_SCRIPT } from '../../sources/preflight-script.js';
import { readSource } from '../../sources/ssh.js';
import { fleetArch, openSource } from '../../services/imports.js';
import type { OperationHandler } from '../runner.js';

/**
 * Preflight: logs in to the source over SSH, runs one read-only script, and turns what it
 * printed into facts and findings. A re-run after a crash reads again (nothing was changed).
 */
export function preflightHandler(ctx: Context): OperationHandler<'preflight'> {
  return {
    async run(op, step) {
      const login = openSource(ctx, op.params.source);
      step.progress(10, `connecting to ${login.host}:${login.port}`);
      const nodeArch = await fleetArch(ctx);
      step.progress(20, 'reading the source (read-only)');
      const read = await readSource(login, PREFLIGHT_SCRIPT);
      if (!isComplete(read.output)) throw new KuraError('bad_request', `${login.host} stopped answering midway: its facts are incomplete`);
      step.progress(90, 'assessing');
      const facts = parseFacts(read.output, read.hostKey);
      const plan = op.params.planId ? ctx.repos.plans.get(op.params.planId) : undefined;
      const list = findings(facts, { nodeArch: dockerArch(nodeArch), planDiskMb: plan?.diskMb });
      const blockers = list.filter((f) => f.severity === 'blocker').length;
      const warnings = list.filter((f) => f.severity === 'warning').length;
      return {
        message: `${facts.distro} (${facts.arch}), ${facts.diskMb} MiB: ${blockers} blocker${blockers === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
        result: { facts, findings: list },
      };
    },
  };
}
