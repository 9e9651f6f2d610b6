import { createHash } from 'node:crypto';
import http from 'node:http';
import { Transform } from 'node:stream';
import { dockerArch, findings, isComplete, listeningPorts, parseFacts, rewriteListen } from '../../domain/imports.js';
import type { ResultOf } from '../../domain/operations.js';
import { KuraError, errorMessage } from '../../lib/errors.js';
import { setEnvironmentState } from '../../services/environment-state.js';
import type { Context } from '../../core/context.js';
import { PREFLIGHT_SCRIPT } from '../../sources/preflight-script.js';
import { readSource, shellWord, streamFromSource } from '../../sources/ssh.js';
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

/** What the copy leaves out besides what preflight named: the old machine's own parts. */
export const MACHINE = ['/proc', '/sys', '/dev', '/run', '/boot', '/lib/modules', '/usr/lib/modules', '/tmp', '/var/tmp', '/lost+found', '/.kura',
  // Docker gives every container its own (bind-mounted, so they cannot be replaced).
  '/etc/resolv.conf', '/etc/hosts', '/etc/hostname'];

/**
 * An import: the source's filesystem copied into the new environment's container (stopped),
 * straight from `tar` on the source through the panel into Docker's archive API, never held
 * whole; listen addresses made to listen everywhere; the services written into the
 * supervisor; the environment started; then every port the source listened on is checked,
 * and each web port's front page compared with the source's.
 */
export function importHandler(ctx: Context): OperationHandler<'import'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env?.containerId) throw new KuraError('conflict', 'the environment or its container is gone');
      const { plan } = op.params;
      const login = openSource(ctx, op.params.source);
      const client = ctx.nodes.get(env.nodeId);
      const files = client.files(env.containerId);
      step.progress(5, 'stopping the new environment for the copy');
      await client.stop(env.containerId);
      setEnvironmentState(ctx, env.id, 'stopped');

      const since = op.params.since;
      step.progress(10, since ? `copying what changed on ${login.host} since ${since}` : `copying ${op.params.diskMb} MiB from ${login.host}`);
      const excludes = [...MACHINE, ...plan.excludes].map((p) => `--exclude=${shellWord(`.${p}`)}`).join(' ');
      // A refresh reads only files whose contents changed since the previous pass began (a little overlap is harmless).
      const newer = since ? `--newer-mtime=@${Math.floor(Date.parse(since) / 1000)} ` : '';
      const startedAt = new Date().toISOString();
      const source = await streamFromSource(login, `tar -C / --numeric-owner --one-file-system --sparse ${newer}-cpf - ${excludes} .`);
      if (source.hostKey !== op.params.hostKey) {
        source.close();
        throw new KuraError('conflict', `the host key of ${login.host} changed since preflight (${op.params.hostKey}, now ${source.hostKey}): it may not be the same server`);
      }
      let copied = 0;
      let shown = 0;
      const expected = Math.max(1, op.params.diskMb * 1048576);
      const counted = new Transform({
        transform(chunk: Buffer, _enc, done) {
          copied += chunk.length;
          if (Date.now() - shown > 500) {
            shown = Date.now();
            step.progress(10 + Math.min(65, Math.floor((copied / expected) * 65)), `copying: ${Math.round(copied / 1048576)} of about ${op.params.diskMb} MiB`);
          }
          done(null, chunk);
        },
      });
      source.stdout.pipe(counted);
      try {
        await files.write('/', counted);
      } catch (err) {
        source.close();
        throw new KuraError('internal', `the copy into the environment failed after ${Math.round(copied / 1048576)} MiB: ${errorMessage(err)}`);
      }
      const ended = await source.done;
      // tar's 1: a file changed while it was read (a live source); 2 and up: it failed.
      if (ended.code !== 0 && ended.code !== 1) {
        throw new KuraError('internal', `tar on ${login.host} failed (exit ${String(ended.code)}): ${ended.stderr.trim().split('\n').slice(-3).join(' ')}`);
      }

      step.progress(78, 'adapting the configuration');
      const changes: ImportResult['changes'] = [];
      for (const file of plan.listenFiles) {
        const text = await files.readText(file).catch(() => null);
        if (text === null) continue;
        const r = rewriteListen(file, text);
        if (r.changes.length === 0) continue;
        await files.writeText(file, r.text, 0o644);
        changes.push(...r.changes);
      }
      await files.writeText('/.kura/supervise', supervisor(plan.services), 0o755);

      step.progress(88, 'starting the services');
      await client.start(env.containerId);
      setEnvironmentState(ctx, env.id, 'running');

      step.progress(92, 'checking the environment against the source');
      const current = ctx.repos.environments.get(env.id)!;
      const host = ctx.repos.nodes.get(env.nodeId)?.publicHost ?? '';
      const checks: ImportResult['checks'] = [];
      let listening: number[] = [];
      for (let i = 0; i < 20; i++) {
        listening = listeningPorts((await client.exec(env.containerId, ['cat', '/proc/net/tcp', '/proc/net/tcp6'], 10_000)).output);
        if (plan.ports.every((p) => listening.includes(p))) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const port of plan.ports) {
        const check: ImportResult['checks'][number] = { port, listening: listening.includes(port) };
        const binding = current.ports.find((p) => p.containerPort === port);
        if (plan.webPorts.includes(port) && binding) {
          const [a, b] = await Promise.all([page(`http://${login.host}:${port}/`), page(`http://${host}:${binding.hostPort}/`)]);
          check.http = { source: a?.status ?? null, environment: b?.status ?? null, same: !!a && !!b && a.status === b.status && a.digest === b.digest };
        }
        checks.push(check);
      }
      const differences = checks.filter((c) => !c.listening || (c.http && !c.http.same)).length;
      const what = since ? 'refreshed' : 'imported';
      return {
        message: differences === 0
          ? `${what} ${Math.round(copied / 1048576)} MiB; every port listens and the web pages are the same as on the source`
          : `${what} ${Math.round(copied / 1048576)} MiB; ${differences} difference${differences === 1 ? '' : 's'} from the source: keep it or import again`,
        result: { copiedBytes: copied, startedAt, changes, services: plan.services.map((s) => s.name), checks, differences },
      };
    },
    onFailure(op) {
      if (ctx.repos.environments.get(op.resource.id)) setEnvironmentState(ctx, op.resource.id, 'error');
    },
  };
}

type ImportResult = ResultOf<'import'>;

/** The supervisor: each service started, and started again two seconds after it stops. */
function supervisor(services: readonly { name: string; command: string }[]): string {
  const lines = services.map((s) => `keep ${shellWord(s.command)} ${shellWord(s.name)} &`);
  return `#!/bin/sh
# Written by Kura's import: the services the source ran, each started again when it stops.
keep() { while :; do sh -c "$1"; echo "kura: $2 stopped ($?); starting it again in 2 s" >&2; sleep 2; done; }
${lines.join('\n')}
wait
# Nothing to run (no listening service was found): the environment stays up for the operator.
exec sleep 2147483647
`;
}



/** A page's status and a digest of its body, or null when nothing answers within 5 s. */
function page(url: string): Promise<{ status: number; digest: string } | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (c: Buffer) => { size += c.length; if (size < 16 * 1048576) hash.update(c); else req.destroy(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: hash.digest('hex') }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
  });
}
