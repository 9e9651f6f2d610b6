// Serialises lab changes: across processes (a pid file) and within one process (a queue),
// so a test worker and a CLI run cannot build the same node twice.
import { open, readFile, unlink } from 'node:fs/promises';
import { sleep } from './exec.js';
import { isAlive } from './procs.js';

const LOCK_FILE = '/run/kura-lab.lock';
let queue: Promise<unknown> = Promise.resolve();

async function acquire(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(LOCK_FILE, 'wx');
      await fh.write(`${process.pid}\n`);
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(LOCK_FILE, 'utf8').catch(() => '')).trim());
    // A holder killed mid-run (the normal way a session ends) leaves its file behind.
    if (!Number.isInteger(holder) || holder <= 0 || !(await isAlive(holder)) || holder === process.pid) {
      await unlink(LOCK_FILE).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`kura-lab: another lab operation (pid ${holder}) holds ${LOCK_FILE}`);
    }
    await sleep(200);
  }
}

export function withLabLock<T>(fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  const result = queue.then(async () => {
    await acquire(timeoutMs);
    try {
      return await fn();
    } finally {
      await unlink(LOCK_FILE).catch(() => undefined);
    }
  });
  queue = result.catch(() => undefined);
  return result;
}
