import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NodeClient } from '../../server/docker/node-client.js';

/**
 * docker-modem formats each request's options, the agent among them, with util.inspect
 * (hidden properties, unlimited depth) before every request, debug log on or not. Walking
 * an agent means walking its options and every pooled TLS socket (measured on a lab node:
 * 1.7 ms per call with one pooled connection, 23 ms with 32), all on the panel's event
 * loop. The node client's agents must describe themselves cheaply.
 */
describe('a node client\'s connection pools', () => {
  it('describe their agents in one short line, as docker-modem formats them before each request', () => {
    const tls = { ca: '-----BEGIN CERTIFICATE-----\n...', cert: '-----BEGIN CERTIFICATE-----\n...', key: '-----BEGIN PRIVATE KEY-----\n...' };
    for (const endpoint of ['tcp://192.0.2.1:2376', 'unix:///var/run/docker.sock']) {
      // Nothing connects: a client opens connections on its first call.
      const client = new NodeClient({ name: 'n1', endpoint, ...(endpoint.startsWith('tcp') ? { tls } : {}) }) as unknown as
        Record<string, { modem: { agent: object } } | undefined>;
      for (const pool of ['api', 'bulk', 'stream', 'follow']) {
        const agent = client[pool]?.modem.agent;
        expect(agent, pool).toBeDefined();
        const text = inspect({ path: '/containers/json', agent }, { showHidden: true, depth: null });
        expect(text.length, `${pool}: ${text.slice(0, 200)}`).toBeLessThan(80);
        expect(text).not.toContain('PRIVATE KEY');
      }
    }
  });
});
