import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/waiting.js';
import { EDGE_CONTAINER } from '../../server/docker/edge-spec.js';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { WebClient } from '../helpers/web.js';
import { startFakeDns, type FakeDns } from '../helpers/challtestsrv.js';
import { killNode, restartNode } from '../../server/lab/lab.js';
import { docker, dockerResult, httpGet, httpsVia, httpVia, inspect, labNode } from '../helpers/lab.js';
import { containerName } from '../../server/docker/container-spec.js';
import { TestCa } from '../helpers/certs.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

const BASE = 'sites.kura.test';


/** Kura's edge on a lab node: made by the panel, serving environments by host name on port 80 of the node. */
describe('the edge', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeId: string;
  let dns: FakeDns;
  const address = () => `${new URL(labNode(1).endpoint.replace('tcp:', 'http:')).hostname}:80`;
  const edgeOf = async () => (await panel.api('GET', `/nodes/${nodeId}`)).body.edge;

  beforeAll(async () => {
    // An edge left by an earlier panel on this lab node would hold port 80.
    await dockerResult(labNode(1), 'rm', '-f', EDGE_CONTAINER);
    dns = await startFakeDns();
    panel = await startTestPanel({ background: true, env: { KURA_EDGE: 'on', KURA_BASE_DOMAIN: BASE, KURA_DNS_SERVERS: dns.server } });
    nodeId = await registerNode(panel, labNode(1));
    seed = await seedCustomer(panel);
  });
  afterAll(async () => {
    await panel.close();
    await dns.close();
    for (const i of [1, 2]) await dockerResult(labNode(i), 'rm', '-f', EDGE_CONTAINER);
  });

  it('runs on the node as a held-in system container, and says so in the node\'s representation', async () => {
    await until('the edge to run', async () => ((await edgeOf()).status === 'running' ? true : null), 30_000);
    const c = await inspect(labNode(1), EDGE_CONTAINER);
    expect(c.State.Running).toBe(true);
    expect(c.Config.Labels['io.kura.edge']).toBe(panel.ctx.panelId);
    expect(c.Config.Labels['io.kura.panel']).toBeUndefined();
    expect(c.HostConfig).toMatchObject({ Privileged: false, CapDrop: ['ALL'], CapAdd: ['NET_BIND_SERVICE'], NetworkMode: 'host',
      SecurityOpt: ['no-new-privileges:true'], RestartPolicy: { Name: 'unless-stopped' } });
    expect(c.HostConfig.Binds ?? []).toEqual([]);
    // Its control interface is a socket file inside it: nothing on the node listens on Caddy's admin port.
    const tcp = execFileSync('nsenter', ['--net=/run/netns/kura-lab1', 'cat', '/proc/net/tcp']).toString();
    expect(tcp).not.toMatch(/:07E3 [0-9A-F]{8}:0000 0A/);
    // The admin console shows it on the node's page.
    panel.ctx.repos.admins.insert(newId('adm'), 'edge-admin@kura.example', await hashPassword('edge-admin-password'), nowIso());
    const admin = new WebClient(panel);
    await admin.login('edge-admin@kura.example', 'edge-admin-password');
    const page = await admin.page(`/admin/nodes/${nodeId}`);
    expect(page.body).toMatch(/data-testid="edge-status"><span class="state state-running">Running<\/span>/);
  });

  it('serves an environment at its default hostname, a plain 404 for any other name, and forgets a deleted one', async () => {
    const env = await createEnvironment(panel, { name: 'shop', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    expect(env.hostname).toBe(`shop-${env.id.slice(-8)}.${BASE}`);
    const direct = await httpGet(`http://${env.endpoints[0].host}:${env.endpoints[0].port}/`);
    expect(direct?.status).toBe(200);
    const viaEdge = await until('the route', async () => {
      const r = await httpVia(address(), env.hostname);
      return r?.status === 200 ? r : null;
    }, 15_000);
    expect(viaEdge.body).toBe(direct!.body);
    // Host names are matched without regard to case, as DNS does.
    expect((await httpVia(address(), env.hostname.toUpperCase()))?.status).toBe(200);

    const unknown = await httpVia(address(), `nobody-12345678.${BASE}`);
    expect(unknown).toEqual({ status: 404, body: 'Not found\n' });

    // Stopped by its owner: a plain 503 that says so; started again, served again.
    const stop = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'stop' });
    expect((await waitOperation(panel, stop.body.operation.id)).status).toBe('succeeded');
    await until('the stopped page', async () => ((await httpVia(address(), env.hostname))?.status === 503 ? true : null), 15_000);
    expect((await httpVia(address(), env.hostname))?.body).toBe('This site is not running right now.\n');
    const start = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'start' });
    expect((await waitOperation(panel, start.body.operation.id)).status).toBe('succeeded');
    await until('the site again', async () => ((await httpVia(address(), env.hostname))?.status === 200 ? true : null), 15_000);

    const gone = await panel.api('DELETE', `/environments/${env.id}`);
    expect((await waitOperation(panel, gone.body.operation.id)).status).toBe('succeeded');
    await until('the route to go', async () => ((await httpVia(address(), env.hostname))?.status === 404 ? true : null), 15_000);
  });

  it('is not an open proxy: absolute URLs, CONNECT and challenge paths of names nobody holds get the neutral 404', async () => {
    const raw = (request: string) => new Promise<string>((resolve) => {
      const [host, port] = address().split(':');
      const s = net.connect({ host, port: Number(port) }, () => s.write(request));
      let out = '';
      s.setTimeout(3000, () => s.destroy());
      s.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\r\n\r\n')) s.destroy(); });
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(await raw('GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    expect(await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).not.toMatch(/^HTTP\/1\.1 200/);
    expect(await httpVia(address(), 'not-yours.jp', '/.well-known/acme-challenge/token')).toEqual({ status: 404, body: 'Not found\n' });
  });

  it('serves a customer\'s own domain once its owner proves control, a Japanese one by its IDNA form', async () => {
    const env = await createEnvironment(panel, { name: 'own', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    const added = await panel.api('POST', `/environments/${env.id}/domains`, { name: '例え.jp' });
    expect(added.status, added.text).toBe(201);
    await until('the default hostname', async () => ((await httpVia(address(), env.hostname))?.status === 200 ? true : null), 15_000);
    // Not proven: not served.
    expect((await httpVia(address(), 'xn--r8jz45g.jp'))?.status).toBe(404);
    await dns.setTxt(added.body.verification.name, added.body.verification.value);
    expect((await panel.api('POST', `/domains/${added.body.id}/check`)).body.status).toBe('active');
    const page = await until('the domain', async () => {
      const r = await httpVia(address(), 'xn--r8jz45g.jp');
      return r?.status === 200 ? r : null;
    }, 15_000);
    expect(page.body).toBe((await httpVia(address(), env.hostname))?.body);

    // The customer's own certificate: HTTPS on 443 by SNI, and HTTP redirects there.
    const ca = new TestCa();
    try {
      const leaf = ca.leaf(['xn--r8jz45g.jp']);
      const up = await panel.api('PUT', `/domains/${added.body.id}/certificate`, { cert: leaf.certPem, key: leaf.keyPem });
      expect(up.status, up.text).toBe(200);
      const secure = await until('HTTPS', async () => {
        const r = await httpsVia(`${address().split(':')[0]}:443`, 'xn--r8jz45g.jp', ca.ca.certPem);
        return 'status' in r && r.status === 200 ? r : null;
      }, 15_000);
      expect(secure.body).toBe(page.body);
      expect(secure.names).toBe('DNS:xn--r8jz45g.jp');
      expect(await httpVia(address(), 'xn--r8jz45g.jp', '/a/b?c=1')).toMatchObject({ status: 308, location: 'https://xn--r8jz45g.jp/a/b?c=1' });
      // Names without a certificate stay on plain HTTP.
      expect((await httpVia(address(), env.hostname))?.status).toBe(200);
    } finally {
      ca.close();
    }
    // Removed, it stops answering.
    expect((await panel.api('DELETE', `/domains/${added.body.id}`)).status).toBe(204);
    await until('the domain to go', async () => ((await httpVia(address(), 'xn--r8jz45g.jp'))?.status === 404 ? true : null), 15_000);
  });

  it('serves any site from any node\'s edge, and a site keeps answering at the same address across a move', async () => {
    await dockerResult(labNode(2), 'rm', '-f', EDGE_CONTAINER);
    const node2 = await registerNode(panel, labNode(2));
    const lab2 = `${new URL(labNode(2).endpoint.replace('tcp:', 'http:')).hostname}:80`;
    const env = await createEnvironment(panel, { name: 'traveller', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'head -c 30000000 /dev/urandom > /srv/www/data.bin');
    // The environment runs on lab1; lab2's edge serves it too, over the lab's network.
    await until('lab2\'s edge', async () => ((await httpVia(lab2, env.hostname))?.status === 200 ? true : null), 30_000);

    // A visitor asks every 50 ms through lab1's edge while the site moves: the edge holds the
    // requests that meet the switch, so none fails.
    const outcomes: { status: number; ms: number }[] = [];
    let visiting = true;
    const visitor = (async () => {
      while (visiting) {
        const t = Date.now();
        const r = await httpVia(address(), env.hostname, '/', 10_000);
        outcomes.push({ status: r?.status ?? 0, ms: Date.now() - t });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const moved = await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: node2 });
    const op = await waitOperation(panel, moved.body.operation.id, 120);
    await new Promise((r) => setTimeout(r, 500));
    visiting = false;
    await visitor;
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.status !== 200), JSON.stringify(outcomes.filter((o) => o.status !== 200))).toEqual([]);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.nodeId).toBe(node2);
    // Same name, same edges: both still answer, now from lab2.
    for (const edge of [address(), lab2]) {
      await until(`the site through ${edge} after the move`, async () => ((await httpVia(edge, env.hostname))?.status === 200 ? true : null), 15_000);
    }
  });

  it('comes back with the node after a reboot and serves the same routes', async () => {
    const env = await createEnvironment(panel, { name: 'survivor', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    await until('the route', async () => ((await httpVia(address(), env.hostname))?.status === 200 ? true : null), 15_000);
    await killNode(1);
    await restartNode(1);
    // Docker restarts it (restart policy) with the configuration it kept: no panel needed for that.
    const served = await until('the edge after the reboot', async () => ((await httpVia(address(), env.hostname))?.status === 200 ? true : null), 60_000);
    expect(served).toBe(true);
    await until('the node to be seen again', async () => ((await edgeOf()).status === 'running' ? true : null), 90_000);
  });
});
