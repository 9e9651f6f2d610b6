import { describe, expect, it } from 'vitest';
import { edgeBootConfig, edgeConfig, hostnameLabel, STOPPED_BODY, UNKNOWN_HOST_BODY } from '../../server/domain/edge.js';

describe('the edge configuration', () => {
  it('routes each host name to its upstream on port 80 of the public address, and anything else to a plain 404', () => {
    const config = edgeConfig('10.231.1.2', [
      { host: 'shop-abcdefgh.sites.test', upstream: '10.231.2.2:20001' },
      { host: 'blog-12345678.sites.test', upstream: '10.231.1.2:20000' },
    ]) as any;
    const server = config.apps.http.servers.http;
    expect(server.listen).toEqual(['10.231.1.2:80']);
    expect(server.automatic_https).toEqual({ disable: true });
    expect(server.routes.map((r: any) => r.match?.[0].host[0] ?? 'fallback')).toEqual(['blog-12345678.sites.test', 'shop-abcdefgh.sites.test', 'fallback']);
    expect(server.routes[1].handle).toEqual([{ handler: 'reverse_proxy', upstreams: [{ dial: '10.231.2.2:20001' }] }]);
    expect(server.routes[1].terminal).toBe(true);
    const fallback = server.routes.at(-1).handle[0];
    expect(fallback).toMatchObject({ handler: 'static_response', status_code: 404, body: UNKNOWN_HOST_BODY });
    expect(UNKNOWN_HOST_BODY).toBe('Not found\n');
  });

  it('holds requests during a switch, trying the old place and then the new, instead of failing', () => {
    const config = edgeConfig('10.0.0.1', [{ host: 'moving.test', upstream: '10.0.0.1:20000', next: '10.0.0.2:20005', holdMs: 5000 }]) as any;
    expect(config.apps.http.servers.http.routes[0].handle[0]).toEqual({
      handler: 'reverse_proxy', upstreams: [{ dial: '10.0.0.1:20000' }, { dial: '10.0.0.2:20005' }],
      load_balancing: { selection_policy: { policy: 'first' }, try_duration: '5000ms', try_interval: '100ms' },
    });
    // A rebuild on the same node keeps one address and still holds.
    const same = edgeConfig('10.0.0.1', [{ host: 'r.test', upstream: '10.0.0.1:20000', next: '10.0.0.1:20000', holdMs: 5000 }]) as any;
    expect(same.apps.http.servers.http.routes[0].handle[0].upstreams).toEqual([{ dial: '10.0.0.1:20000' }]);
    expect(same.apps.http.servers.http.routes[0].handle[0].load_balancing.try_duration).toBe('5000ms');
  });

  it('answers for a stopped site with a plain 503 that says so', () => {
    const config = edgeConfig('10.0.0.1', [{ host: 'resting.test', upstream: '10.0.0.1:20000', stopped: true }]) as any;
    expect(config.apps.http.servers.http.routes[0].handle[0]).toMatchObject({ handler: 'static_response', status_code: 503, body: STOPPED_BODY });
    expect(STOPPED_BODY).toBe('This site is not running right now.\n');
  });

  it('keeps its control socket a file, never a network address, before and after the routes arrive', () => {
    for (const config of [edgeConfig('10.0.0.1', []), edgeBootConfig()] as any[]) {
      expect(config.admin.listen).toBe('unix//var/lib/kura-edge/admin.sock');
      expect(config.admin.config).toEqual({ persist: true });
    }
    expect((edgeBootConfig() as any).apps).toBeUndefined();
  });

  it('listens on every address when the public host is a name', () => {
    expect((edgeConfig('node1.example.net', []) as any).apps.http.servers.http.listen).toEqual([':80']);
  });

  it('gives the same routes the same configuration, whatever their order', () => {
    const a = { host: 'a.test', upstream: '1.1.1.1:1' };
    const b = { host: 'b.test', upstream: '1.1.1.1:2' };
    expect(JSON.stringify(edgeConfig('10.0.0.1', [a, b]))).toBe(JSON.stringify(edgeConfig('10.0.0.1', [b, a])));
  });
});

describe('default hostname labels', () => {
  it('are the name and the end of the id, within 63 characters, lowercase', () => {
    expect(hostnameLabel('shop', 'env_01m8p1pxg8000ejcbjan')).toBe('shop-0ejcbjan');
    const long = hostnameLabel('a'.repeat(63), 'env_01m8p1pxg8000ejcbjan');
    expect(long.length).toBe(63);
    expect(long.endsWith('-0ejcbjan')).toBe(true);
    // A name cut at a hyphen does not leave two in a row.
    expect(hostnameLabel(`${'a'.repeat(53)}-bcd`, 'env_01m8p1pxg8000ejcbjan')).toBe(`${'a'.repeat(53)}-0ejcbjan`);
  });

  it('differ on a second attempt', () => {
    expect(hostnameLabel('shop', 'env_01m8p1pxg8000ejcbjan', 1)).toBe('shop-0ejcbjan1');
  });
});
