import type { TestProject } from 'vitest/node';
import { labUp, type LabStatus } from '../../server/lab/lab.js';
import { removeLabelledContainers } from '../../server/lab/containers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    lab: LabStatus;
  }
}

/** Brings up the three-node lab once for the run and clears containers earlier runs left behind. */
export default async function setup(project: TestProject): Promise<void> {
  const lab = await labUp({ nodes: 3 });
  await removeLabelledContainers(lab.nodes, 'io.kura.panel');
  // Containers tests start outside the panel (to hold a port, say) carry io.kura.test; a killed run can leave them.
  await removeLabelledContainers(lab.nodes, 'io.kura.test');
  // Backup helpers of earlier runs' panels (they carry their own label, not io.kura.panel).
  await removeLabelledContainers(lab.nodes, 'io.kura.backup');
  project.provide('lab', lab);
}
