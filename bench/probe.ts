/** An HTTP probe for downtime benchmarks: what a visitor of the site would have seen. */

export interface Probe {
  /** Stops probing; answers the longest time in which no address answered, in ms. */
  stop(): Promise<number>;
}

/** Probes the addresses every 50 ms; the site counts as up when any of them answers. */
export function probe(urls: () => string[]): Probe {
  let running = true;
  let lastUp = Date.now();
  let worst = 0;
  const loop = (async () => {
    while (running) {
      const t = Date.now();
      const answers = await Promise.all(urls().map((u) => fetch(u, { signal: AbortSignal.timeout(250) }).then((r) => r.ok, () => false)));
      if (answers.some(Boolean)) {
        worst = Math.max(worst, t - lastUp);
        lastUp = t;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - t))));
    }
  })();
  // A site that never came back counts until the probe stops.
  return { async stop() { running = false; await loop; return Math.max(worst, Date.now() - lastUp); } };
}

/** Waits until the address answers (at most 30 s), then a little longer so a probe sees it. */
export async function answered(u: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(u, { signal: AbortSignal.timeout(250) }).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
}
