// Checks one running lab node end to end: btrfs driver, image import, published port reachable
// from the host, disk quota enforced. Usage: node --import tsx server/lab/smoke.ts [index]
import { run, CommandError } from './exec.js';
import { importBusybox } from './images.js';
import { dockerCliArgs, labStatus } from './lab.js';

async function main(): Promise<void> {
  const index = Number(process.argv[2] ?? '1');
  const node = (await labStatus()).nodes.find((n) => n.index === index && n.running);
  if (!node) throw new Error(`lab${index} is not running (npm run lab -- up --nodes ${index})`);
  const docker = (...args: string[]) => run('docker', [...dockerCliArgs(node), ...args]);

  const info = await docker('info', '--format', '{{.Driver}}');
  if (info.stdout.trim() !== 'btrfs') throw new Error(`storage driver is ${info.stdout.trim()}, not btrfs`);
  console.log(`${node.name}: storage driver btrfs`);

  let t = Date.now();
  await importBusybox(node, 'bb:1');
  console.log(`${node.name}: imported bb:1 in ${Date.now() - t} ms`);

  await docker('rm', '-f', 'smoke-web').catch(() => undefined);
  t = Date.now();
  await docker('run', '-d', '--name', 'smoke-web', '--storage-opt', 'size=50m', '-p', '8080:80', 'bb:1',
    'sh', '-c', 'echo hello from lab > /www/index.html && exec httpd -f -p 80 -h /www');
  console.log(`${node.name}: container started in ${Date.now() - t} ms`);
  let answered = false;
  for (let i = 0; i < 50 && !answered; i++) {
    try {
      const res = await fetch(`http://${node.address}:8080/`);
      const body = (await res.text()).trim();
      answered = res.status === 200 && body === 'hello from lab';
      console.log(`${node.name}: http://${node.address}:8080/ answered ${res.status} "${body}"`);
    } catch {
      // not listening yet
    }
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
  if (!answered) throw new Error(`published port 8080 on ${node.address} did not answer`);

  try {
    await docker('run', '--rm', '--storage-opt', 'size=50m', 'bb:1', 'dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=80');
    throw new Error('writing 80 MB into a 50 MB container succeeded: quota not enforced');
  } catch (err) {
    if (!(err instanceof CommandError) || !/No space left|Disk quota exceeded/i.test(err.stderr + err.stdout)) throw err;
    console.log(`${node.name}: 80 MB write into size=50m failed (quota enforced): ${(err.stderr.split('\n')[0] ?? '').trim()}`);
  }
  await docker('rm', '-f', 'smoke-web');
  console.log(`${node.name}: smoke test passed`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
