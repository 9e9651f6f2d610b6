/** The API as a benchmark calls it: over real HTTP on loopback, with one bearer token. */
export interface BenchApi {
  /** Calls the API (with another token when given) and returns the status and the parsed body, whatever the status. */
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** Calls the API; a 4xx or 5xx throws with the answer. */
  api(method: string, url: string, body?: unknown): Promise<any>;
  /** GETs `url` `n` times one after another; the time of each, in ms. */
  timeReads(url: string, n: number): Promise<number[]>;
}

export function benchApi(base: string, token: string): BenchApi {
  const call: BenchApi['call'] = async (method, url, body, as = token) => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method, headers: { authorization: `Bearer ${as}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    call,
    async api(method, url, body) {
      const res = await call(method, url, body);
      if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async timeReads(url, n) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1${url}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
        times.push(performance.now() - t0);
      }
      return times;
    },
  };
}
