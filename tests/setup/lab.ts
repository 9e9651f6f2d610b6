import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { labUp, dockerCliArgs, type LabStatus } from '../../server/lab/lab.js';

const exec = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    lab: LabStatus;
  }
}

/** Brings up the three-node lab once for the run and clears containers earlier runs left behind. */
export default async function setup(project: TestProject): Promise<void> {
  const lab = await labUp({ nodes: 3 });
  await Promise.all(lab.nodes.map(async (node) => {
    const args = dockerCliArgs(node);
    const { stdout } = await exec('docker', [...args, 'ps', '-aq', '--filter', 'label=io.kura.panel']);
    const ids = stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await exec('docker', [...args, 'rm', '-f', ...ids]);
  }));
  project.provide('lab', lab);
}
