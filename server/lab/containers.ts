import { run } from './exec.js';
import { dockerCliArgs, type LabNode } from './lab.js';

/**
 * Removes the containers carrying a label (`io.kura.panel` or `io.kura.panel=<id>`) from
 * lab nodes: how tests, benchmarks and the demo start clean without touching each other.
 */
export async function removeLabelledContainers(nodes: LabNode[], label: string): Promise<number> {
  const counts = await Promise.all(nodes.map(async (node) => {
    const args = dockerCliArgs(node);
    const { stdout } = await run('docker', [...args, 'ps', '-aq', '--filter', `label=${label}`]);
    const ids = stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', [...args, 'rm', '-f', ...ids]);
    return ids.length;
  }));
  return counts.reduce((a, b) => a + b, 0);
}
