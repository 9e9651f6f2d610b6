import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';

/** What a flood sends: `inFlight` loops over the targets in turn for `ms`, each sending its next request as soon as one answers. */
export interface FloodSpec {
  /** Prefixed to every target's url. */
  base: string;
  token: string;
  targets: { method: string; url: string; body?: unknown }[];
  inFlight: number;
  ms: number;
}

/** Answers by HTTP status ('error' for a failed connection). */
export type FloodAnswers = Record<string, number>;

/**
 * The generator, as a script of its own: it ignores Retry-After, as a careless or hostile
 * script would. It runs in a worker (spec from workerData, answers posted back) or in a
 * process (spec from KURA_FLOOD, answers on stdout), so the flood's client work never runs
 * on the thread that measures.
 */
const GENERATOR = `
const threads = require('node:worker_threads');
const { base, token, targets, inFlight, ms } = threads.parentPort ? threads.workerData : JSON.parse(process.env.KURA_FLOOD);
const counts = {};
const end = Date.now() + ms;
async function loop(i) {
  for (let n = i; Date.now() < end; n++) {
    const t = targets[n % targets.length];
    let key = 'error';
    try {
      const res = await fetch(base + t.url, { method: t.method, signal: AbortSignal.timeout(Math.max(1, end - Date.now() + 30000)),
        headers: { authorization: 'Bearer ' + token, ...(t.body ? { 'content-type': 'application/json' } : {}) },
        ...(t.body ? { body: JSON.stringify(t.body) } : {}) });
      await res.arrayBuffer();
      key = String(res.status);
    } catch {}
    counts[key] = (counts[key] || 0) + 1;
  }
}
Promise.all(Array.from({ length: inFlight }, (_, i) => loop(i))).then(() => {
  if (threads.parentPort) threads.parentPort.postMessage(counts);
  else process.stdout.write(JSON.stringify(counts));
});
`;

function loopbackOnly(base: string): void {
  const host = new URL(base).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`floods go to loopback only, not ${host}`);
}

/** The flood on a thread of this process; resolves with the answers once it has ended. */
export function floodInWorker(spec: FloodSpec): Promise<FloodAnswers> {
  loopbackOnly(spec.base);
  const worker = new Worker(GENERATOR, { eval: true, workerData: spec });
  return new Promise((resolve, reject) => {
    worker.once('message', (counts: FloodAnswers) => {
      resolve(counts);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** The flood as a process of its own at the lowest priority (its cost stands for a computer of the flooder's own). */
export function floodInProcess(spec: FloodSpec): Promise<FloodAnswers> {
  loopbackOnly(spec.base);
  const child = spawn('nice', ['-n', '19', process.execPath, '-e', GENERATOR],
    { env: { ...process.env, KURA_FLOOD: JSON.stringify(spec) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as FloodAnswers) : reject(new Error(`the flood generator exited with ${code}`))));
  });
}
