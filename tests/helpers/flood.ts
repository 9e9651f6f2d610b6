import { Worker } from 'node:worker_threads';

/**
 * A client that keeps `inFlight` requests to one URL open for `ms`, starting the next as
 * soon as one answers (it ignores Retry-After, as a careless or hostile script would).
 * It runs on its own thread, so the flood's client work does not slow the measurements
 * taken on the test's own thread; only loopback and lab addresses may be flooded.
 */
export interface Flood {
  /** Answers by HTTP status ('error' for a failed connection), once the flood has ended. */
  done: Promise<Record<string, number>>;
}

const FLOODER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token, inFlight, ms } = workerData;
const counts = {};
const end = Date.now() + ms;
async function loop() {
  while (Date.now() < end) {
    let key = 'error';
    try {
      const res = await fetch(url, { headers: { authorization: 'Bearer ' + token }, signal: AbortSignal.timeout(Math.max(1, end - Date.now() + 30000)) });
      await res.arrayBuffer();
      key = String(res.status);
    } catch {}
    counts[key] = (counts[key] || 0) + 1;
  }
}
Promise.all(Array.from({ length: inFlight }, loop)).then(() => parentPort.postMessage(counts));
`;

export function startFlood(o: { url: string; token: string; inFlight: number; ms: number }): Flood {
  const host = new URL(o.url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`floods go to loopback only, not ${host}`);
  const worker = new Worker(FLOODER, { eval: true, workerData: o });
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('message', (counts: Record<string, number>) => {
      resolve(counts);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  return { done };
}
