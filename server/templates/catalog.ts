import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Template } from '../domain/types.js';

export class TemplateError extends Error {}

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const RelativePath = Type.String({ pattern: '^(?!/)(?!.*\\.\\.)[A-Za-z0-9._/-]{1,200}$' });
const Source = Type.Union([
  Type.Object({ type: Type.Literal('busybox'), overlay: Type.Optional(RelativePath) }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('debootstrap'),
    suite: Type.String({ pattern: '^[a-z]{2,20}$' }),
    variant: Type.Literal('minbase'),
    include: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9+.-]{0,62}$' }), { maxItems: 50 }),
    overlay: Type.Optional(RelativePath),
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('registry'),
    reference: Type.String({ pattern: '^[a-z0-9][a-z0-9._/:@-]{0,254}$' }),
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('captured'),
    image: RelativePath,
    imageId: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
    sizeBytes: Type.Integer({ minimum: 0 }),
    environmentId: Type.String({ minLength: 1, maxLength: 64 }),
    capturedAt: Type.String({ minLength: 1, maxLength: 40 }),
  }, { additionalProperties: false }),
]);

const TemplateFile = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  version: Type.String({ pattern: '^[0-9A-Za-z.+-]{1,40}$' }),
  description: Type.String({ maxLength: 1000 }),
  source: Source,
  ports: Type.Array(Type.Object({
    name: Name,
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  }, { additionalProperties: false }), { maxItems: 16 }),
  dataPath: Type.Union([Type.String({ pattern: '^/(?!.*\\.\\.)[A-Za-z0-9._/-]{1,200}$' }), Type.Null()]),
  user: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{1,10}(:[0-9]{1,10})?$' }), Type.Null()])),
  capabilities: Type.Array(Type.String({ pattern: '^[A-Z_]{2,32}$' }), { maxItems: 40 }),
  command: Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 64 }),
  env: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), Type.String({ maxLength: 4096 })),
  workingDir: Type.Optional(Type.Union([Type.String({ pattern: '^/[A-Za-z0-9._/-]{0,200}$' }), Type.Null()])),
  defaults: Type.Union([Type.Object({ plan: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }), Type.Null()]),
  /** A command run inside the environment (no shell) whose exit status says whether it serves. */
  healthcheck: Type.Optional(Type.Object({
    command: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 16 }),
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
    startPeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    /** Seconds between checks during the start period, until the first one passes (Docker API 1.44+; older engines wait one interval). */
    startIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
type TemplateFile = Static<typeof TemplateFile>;

/** Capabilities a template may ask for: none of them lets a customer reach the host. */
const ALLOWED_CAPS = new Set([
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'AUDIT_WRITE', 'SETFCAP',
]);

export interface TemplateCatalog {
  list(): Template[];
  get(id: string): Template | undefined;
  /** A template captured while the panel runs (templates/capture.ts); the newest version of an id replaces the older. */
  add?(template: Template): void;
  remove?(id: string): void;
}

/**
 * The repository's templates and those captured from environments, kept in the data
 * folder as `<dir>/<id>/<version>/template.json` beside their image. A captured id never
 * takes a repository template's; of a captured id's versions the newest is the one offered.
 */
export function withCaptured(repository: TemplateCatalog, dir: string): Required<TemplateCatalog> {
  const captured = new Map<string, Template>();
  if (fs.existsSync(dir)) {
    for (const id of fs.readdirSync(dir).sort()) {
      if (!Value.Check(Name, id) || repository.get(id)) continue;
      const versions = fs.readdirSync(path.join(dir, id)).flatMap((v) => {
        try {
          const t = parseTemplate(id, path.join(dir, id, v));
          return t.source.type === 'captured' ? [t] : [];
        } catch {
          return [];
        }
      });
      const newest = versions.sort((a, b) => capturedAt(b).localeCompare(capturedAt(a)))[0];
      if (newest) captured.set(id, newest);
    }
  }
  return {
    list: () => [...repository.list(), ...[...captured.values()].sort((a, b) => a.id.localeCompare(b.id))],
    get: (id) => repository.get(id) ?? captured.get(id),
    add(template) {
      if (repository.get(template.id)) throw new TemplateError(`${template.id} is a template of the repository`);
      captured.set(template.id, template);
    },
    remove(id) {
      captured.delete(id);
    },
  };
}

const capturedAt = (t: Template): string => (t.source.type === 'captured' ? t.source.capturedAt : '');

/** Reads every `templates/<id>/template.json`; any invalid template stops the start with its reasons. */
export function loadTemplates(dir: string): TemplateCatalog {
  const templates = new Map<string, Template>();
  const problems: string[] = [];
  for (const id of fs.readdirSync(dir).sort()) {
    const folder = path.join(dir, id);
    if (!fs.statSync(folder).isDirectory()) continue;
    try {
      templates.set(id, parseTemplate(id, folder));
    } catch (err) {
      problems.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new TemplateError(`invalid templates in ${dir}:\n  ${problems.join('\n  ')}`);
  const sorted = [...templates.values()];
  return { list: () => sorted, get: (id) => templates.get(id) };
}

export function parseTemplate(id: string, folder: string): Template {
  if (!Value.Check(Name, id)) throw new TemplateError('folder name is not a valid template id (a-z, 0-9, -)');
  const file = path.join(folder, 'template.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TemplateError(`cannot read template.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  const errors = [...Value.Errors(TemplateFile, raw)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  if (errors.length > 0) throw new TemplateError(errors.join('; '));
  const t = raw as TemplateFile;
  const badCaps = t.capabilities.filter((c) => !ALLOWED_CAPS.has(c));
  if (badCaps.length > 0) throw new TemplateError(`capabilities not allowed for customer environments: ${badCaps.join(', ')}`);
  const overlay = 'overlay' in t.source ? t.source.overlay : undefined;
  if (overlay !== undefined && !fs.existsSync(path.join(folder, overlay))) {
    throw new TemplateError(`overlay folder ${overlay} does not exist`);
  }
  const names = new Set(t.ports.map((p) => p.name));
  if (names.size !== t.ports.length) throw new TemplateError('port names must be unique');
  return {
    id, name: t.name, version: t.version, description: t.description, source: t.source,
    ports: t.ports, dataPath: t.dataPath, capabilities: t.capabilities, command: t.command, env: t.env,
    user: t.user ?? null, workingDir: t.workingDir ?? null,
    defaults: t.defaults === null ? null : { plan: t.defaults.plan }, dir: folder,
    healthcheck: t.healthcheck ? {
      command: t.healthcheck.command, intervalSeconds: t.healthcheck.intervalSeconds ?? 60, timeoutSeconds: t.healthcheck.timeoutSeconds ?? 5,
      startPeriodSeconds: t.healthcheck.startPeriodSeconds ?? 30,
      startIntervalSeconds: Math.min(t.healthcheck.startIntervalSeconds ?? 2, t.healthcheck.intervalSeconds ?? 60),
      retries: t.healthcheck.retries ?? 3,
    } : null,
  };
}
