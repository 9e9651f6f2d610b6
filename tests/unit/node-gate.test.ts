import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeClient } from '../../server/docker/node-client.js';
import { onBehalfOf } from '../../server/lib/tenancy.js';

/** How a promise settled within `ms`: its value, its error, or 'pending'. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: any } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); });
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The client's own queue in front of a node, against a loopback listener that answers a
 * ping and holds every other request without answering: a node that is up but slow. (The
 * node's real behaviour is the integration tests' business; this is about what the panel
 * does while it waits.)
 */
describe('a node client\'s calls while the node is slow', () => {
  let server: http.Server;
  let endpoint: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.endsWith('/_ping')) res.end('OK');
      // Anything else gets no answer until the test ends.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses a customer\'s calls past its share with rate_limited, without opening the breaker, while another customer gets a slot', async () => {
    const client = new NodeClient({ name: 'slow', endpoint }, { slots: 4, share: 2, waitMs: 200 });
    const customer = (id: string) => ({ tenant: `customer:${id}`, patient: false });
    const a = Array.from({ length: 6 }, (_, i) => onBehalfOf(customer('a'), () => client.inspect(`a${i}`)));
    for (const p of a) p.catch(() => undefined);
    const b = onBehalfOf(customer('b'), () => client.inspect('b0'));
    b.catch(() => undefined);
    const refused = await within(a[5]!, 1500);
    expect(refused).toMatchObject({ error: { code: 'rate_limited', status: 429, details: { node: 'slow', call: 'container inspect' } } });
    expect((refused as { error: Error }).error.message).toMatch(/the panel is busy with node slow/);
    expect(client.breaker.open).toBe(false);
    // A still holds its two slots and B the one it got at once, behind nobody; A's other four were refused.
    expect(client.gate.load()).toEqual({ active: 3, waiting: 0 });
    expect(await within(b, 100)).toBe('pending');
  });

  it('pings on a connection of its own, however many calls are stuck', async () => {
    const client = new NodeClient({ name: 'stuck', endpoint });
    // More than any pool of the old kind held; the panel's own work queues patiently behind them.
    const stuck = Array.from({ length: 40 }, (_, i) => client.inspect(`c${i}`));
    for (const p of stuck) p.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(await within(client.ping(1000), 1500)).toEqual({ value: undefined });
    expect(client.breaker.open).toBe(false);
  });
});
