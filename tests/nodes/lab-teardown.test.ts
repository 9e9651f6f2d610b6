import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { teardownNode } from '../../server/lab/cleanup.js';
import { run } from '../../server/lab/exec.js';
import { importBusybox } from '../../server/lab/images.js';
import { dockerCliArgs, restartNode } from '../../server/lab/lab.js';
import { labDir, nodePaths } from '../../server/lab/paths.js';
import { mountsUnder } from '../../server/lab/storage.js';

/** Processes anywhere on the machine whose command line names the node's runtime or state dir. */
async function processesNaming(dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^[0-9]+$/.test(n))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c.replaceAll('\0', ' '), () => '');
    if (dirs.some((d) => cmd.includes(`${d}/`))) found.push(`${pid} ${cmd.slice(0, 80)}`);
  }
  return found;
}

// A node of its own (lab9), so the shared nodes 1-3 are not touched.
const INDEX = 9;

describe('lab teardown', () => {
  it('ends every process of a node, shims included, while containers are still starting', async () => {
    const node = await restartNode(INDEX, { fresh: true });
    await importBusybox(node);
    const args = dockerCliArgs(node);
    const p = nodePaths(labDir(), INDEX);
    // Keep starting containers, several at a time, until the teardown has begun and after.
    let starting = true;
    const started: Promise<unknown>[] = [];
    const starter = (async () => {
      for (let i = 0; starting && i < 200; i++) {
        started.push(run('docker', [...args, 'run', '-d', '--label', 'io.kura.test=1', 'busybox:lab', 'sleep', '600']).catch(() => undefined));
        if (started.length % 4 === 0) await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await expect.poll(async () => (await run('docker', [...args, 'ps', '-q'])).stdout.split('\n').filter(Boolean).length,
      { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(6);

    await teardownNode(p);
    starting = false;
    await starter;
    await Promise.all(started);

    expect(await processesNaming([p.runDir, p.nodeDir])).toEqual([]);
    expect(await mountsUnder([p.nodeDir, p.runDir])).toEqual([]);
  });
});
