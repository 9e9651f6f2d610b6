import { run } from './exec.js';
import { dockerCliArgs, type LabNode } from './lab.js';

/**
 * Removes the containers, then the unused networks, carrying a label (`io.kura.panel` or
 * `io.kura.panel=<id>`) from lab nodes: how tests, benchmarks and the demo start clean
 * without touching each other.
 */
export async function removeLabelledContainers(nodes: LabNode[], label: string): Promise<number> {
  const counts = await Promise.all(nodes.map(async (node) => {
    const args = dockerCliArgs(node);
    const { stdout } = await run('docker', [...args, 'ps', '-aq', '--filter', `label=${label}`]);
    const ids = stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', [...args, 'rm', '-f', ...ids]);
    await run('docker', [...args, 'network', 'prune', '-f', '--filter', `label=${label}`]);
    return ids.length;
  }));
  return counts.reduce((a, b) => a + b, 0);
}
