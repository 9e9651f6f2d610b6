/** The q-quantile of a sample (nearest rank): percentile(xs, 0.99) is the p99. */
export function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

/**
 * `count` file sizes drawn log-uniform between `min` and `max` bytes from a fixed seed, then
 * scaled to sum to exactly `total`, so every round and every run writes the same shape.
 */
export function logUniformSizes(count: number, min: number, max: number, total: number): number[] {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const raw = Array.from({ length: count }, () => Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min))));
  const scale = total / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((r) => Math.max(1, Math.round(r * scale)));
  sizes[sizes.length - 1]! += total - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}
