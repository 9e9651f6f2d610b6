import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';

/**
 * The server's floors, top first. A file may import from its own floor and the floors below
 * it, never from one above: type imports count too, since they are how a lower layer would
 * come to know an upper one. (lab/ and demo/ stand beside the panel: the demo drives the
 * panel and the lab; the lab uses only the bottom floors.)
 */
const FLOORS: string[][] = [
  ['main.ts', 'demo', 'cli'],
  ['app.ts'],
  ['http', 'sftp'],
  ['operations'],
  ['loops'],
  ['services'],
  ['read-models'],
  ['core'],
  ['templates', 'lab'],
  ['db', 'docker', 'sources'],
  ['domain'],
  ['lib'],
  ['config.ts'],
];

const SERVER = path.join(ROOT, 'server');

function floorOf(file: string): number {
  const top = path.relative(SERVER, file).split(path.sep)[0]!;
  const floor = FLOORS.findIndex((names) => names.includes(top));
  if (floor < 0) throw new Error(`server/${top} is on no floor: add it to FLOORS in this test`);
  return floor;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []);
}

/** Every relative import and re-export of a file, type-only ones included. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)]
    .map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
}

/** Runtime imports only (type-only imports are erased, so they cannot form a load-time cycle). */
function runtimeImportsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)]
    .map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')))
    .filter((d) => fs.existsSync(d));
}

describe('the server house', () => {
  const files = sourceFiles(SERVER);

  it('has every folder on a floor and no import running back up, type imports included', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const dep of importsOf(file)) {
        if (!dep.startsWith(SERVER + path.sep)) continue;
        if (floorOf(dep) < floorOf(file)) upward.push(`${path.relative(ROOT, file)} -> ${path.relative(ROOT, dep)}`);
      }
    }
    expect(upward).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
  });

  it('finds an upward import when there is one (the check itself can fail)', () => {
    expect(floorOf(path.join(SERVER, 'core', 'context.ts'))).toBeGreaterThan(floorOf(path.join(SERVER, 'operations', 'runner.ts')));
    expect(() => floorOf(path.join(SERVER, 'nowhere', 'x.ts'))).toThrow(/on no floor/);
  });

  it('has no import cycle between modules', () => {
    const edges = new Map(files.map((f) => [f, runtimeImportsOf(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(ROOT, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const dep of edges.get(file) ?? []) visit(dep, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of edges.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('keeps dockerode and better-sqlite3 behind their one door each', () => {
    const outside = (pkg: string, door: string) => files.filter((f) => !f.startsWith(path.join(SERVER, door) + path.sep)
      && !f.startsWith(path.join(SERVER, 'lab') + path.sep)
      && new RegExp(`from '${pkg}'`).test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f));
    expect(outside('dockerode', 'docker')).toEqual([]);
    expect(outside('better-sqlite3', 'db')).toEqual([]);
  });
});
