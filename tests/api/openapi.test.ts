import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spectral, type RulesetDefinition } from '@stoplight/spectral-core';
import { oas } from '@stoplight/spectral-rulesets';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { ROOT } from '../../server/config.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

/** The served document, as far as these checks read it. */
interface Operation { operationId?: string; summary?: string; description?: string; tags?: string[] }
interface OpenApiDocument { tags?: { name: string; description?: string }[]; paths: Record<string, Record<string, Operation>> }

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

function operations(doc: OpenApiDocument): { where: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([url, item]) => Object.entries(item)
    .filter(([method]) => METHODS.has(method))
    .map(([method, op]) => ({ where: `${method.toUpperCase()} ${url}`, op })));
}

/**
 * A billing system's client, written against the generated types as one would be. It has
 * to compile under strict settings, and the call under @ts-expect-error has to fail: if
 * the types were loose (any), that directive would itself be reported as unused.
 */
const CLIENT = `import createClient from 'openapi-fetch';
import type { operations, paths } from './kura-api.js';

type CreateBody = operations['createEnvironment']['requestBody']['content']['application/json'];

const client = createClient<paths>({ baseUrl: 'https://panel.example/api/v1' });

export async function create(planId: string, customerId: string): Promise<{ operationId: string; state: string }> {
  const body: CreateBody = { name: 'www', templateId: 'static-site', planId, customerId };
  const { data, error } = await client.POST('/environments', { body });
  if (error) throw new Error(error.error.message);
  const finished = await client.GET('/operations/{id}/wait', { params: { path: { id: data.operation.id }, query: { timeout: 60 } } });
  if (finished.error) throw new Error(finished.error.error.message);
  return { operationId: finished.data.id, state: data.environment.state };
}

export async function misuse(): Promise<void> {
  // @ts-expect-error templateId is required
  await client.POST('/environments', { body: { name: 'www', planId: 'plan_1' } });
  // @ts-expect-error reboot is not one of start, stop and restart
  await client.POST('/environments/{id}/actions', { params: { path: { id: 'env_1' } }, body: { action: 'reboot' } });
}
`;

describe('the OpenAPI document', () => {
  let panel: TestPanel;
  let doc: OpenApiDocument;
  let text: string;
  let workDir: string;
  beforeAll(async () => {
    panel = await startTestPanel();
    const res = await panel.app.inject('/api/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    text = res.body;
    doc = JSON.parse(text) as OpenApiDocument;
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-openapi-'));
  });
  afterAll(async () => {
    await panel?.close();
    // Removes the node_modules symlink, not what it points to.
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('passes Spectral\'s oas ruleset with no error and no warning', async () => {
    const spectral = new Spectral();
    // The ruleset's published type lacks `extends`, though it is a complete ruleset; `spectral lint` uses its recommended rules.
    spectral.setRuleset({ extends: [[oas as RulesetDefinition, 'recommended']] });
    const findings = (await spectral.run(text))
      .filter((f) => f.severity <= 1) // 0 error, 1 warning
      .map((f) => `${f.severity === 0 ? 'error' : 'warning'} ${f.code} at ${f.path.join('.')}: ${f.message}`);
    expect(findings, `Spectral found:\n${findings.join('\n')}`).toEqual([]);
  });

  it('gives every operation a unique operationId, a summary, a description and declared tags', () => {
    const declared = new Set((doc.tags ?? []).map((t) => t.name));
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThanOrEqual(45);
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const { where, op } of ops) {
      if (!op.operationId) problems.push(`${where}: no operationId`);
      else if (!/^[a-z][A-Za-z0-9]*$/.test(op.operationId)) problems.push(`${where}: operationId ${op.operationId} is not camelCase`);
      else if (seen.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} is also ${seen.get(op.operationId)}`);
      else seen.set(op.operationId, where);
      if (!op.summary) problems.push(`${where}: no summary`);
      if (!op.description || op.description.length < 20) problems.push(`${where}: no description`);
      if (!op.tags?.length) problems.push(`${where}: no tag`);
      for (const tag of op.tags ?? []) if (!declared.has(tag)) problems.push(`${where}: tag ${tag} is not declared at the top level`);
    }
    for (const tag of doc.tags ?? []) if (!tag.description) problems.push(`tag ${tag.name} has no description`);
    expect(problems, problems.join('\n')).toEqual([]);
    for (const id of ['createEnvironment', 'listEnvironments', 'getOperation', 'waitForOperation']) expect(seen.has(id), id).toBe(true);
  });

  it('generates types that a strictly compiled openapi-fetch client is held to', async () => {
    const types = astToString(await openapiTS(JSON.parse(text) as Parameters<typeof openapiTS>[0]));
    fs.writeFileSync(path.join(workDir, 'kura-api.ts'), types);
    fs.writeFileSync(path.join(workDir, 'client.ts'), CLIENT);
    fs.writeFileSync(path.join(workDir, 'package.json'), JSON.stringify({ type: 'module' }));
    // Packages resolve from the project's own node_modules, as they would in a client's repository.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(workDir, 'node_modules'), 'dir');
    const program = ts.createProgram([path.join(workDir, 'client.ts')], {
      strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noEmit: true,
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [], skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program)
      .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(diagnostics, diagnostics.join('\n')).toEqual([]);
  });
});
