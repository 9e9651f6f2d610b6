import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { NETNS_PREFIX } from '../../server/lab/paths.js';
import { docker, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, type Seed, type TestPanel } from '../helpers/panel.js';

const exec = promisify(execFile);

/**
 * The three runtime checks of the CIS Docker Benchmark the panel used to fail, on a real
 * node: ports published on every address (5.14), no open-files limit (5.19), no health
 * check (5.27).
 */
describe('container hardening on a real node', () => {
  let panel: TestPanel;
  let seed: Seed;
  let env: any;
  const node = () => labNode(1);

  beforeAll(async () => {
    panel = await startTestPanel({ background: true });
    await registerNode(panel, node());
    seed = await seedCustomer(panel, { plan: { nofile: 2048 } });
    env = await createEnvironment(panel, { name: 'hardened', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
  });
  afterAll(async () => panel.close());

  it('publishes ports on the node\'s public address only (5.14)', async () => {
    const port = env.endpoints[0].port as number;
    const c = await inspect(node(), containerName(env.id));
    expect(c.HostConfig.PortBindings['8080/tcp']).toEqual([{ HostIp: node().address, HostPort: String(port) }]);
    // Inside the node, the port listens on its public address and nowhere else (not 0.0.0.0 or [::]).
    const { stdout } = await exec('ip', ['netns', 'exec', `${NETNS_PREFIX}${node().index}`, 'ss', '-Hltn', `sport = :${port}`]);
    const listeners = stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]);
    expect(listeners.length).toBeGreaterThan(0);
    expect(listeners.every((a) => a === `${node().address}:${port}`), stdout).toBe(true);
  });

  it('limits open files per process to the plan\'s nofile (5.19)', async () => {
    const c = await inspect(node(), containerName(env.id));
    expect(c.HostConfig.Ulimits).toEqual([{ Name: 'nofile', Soft: 2048, Hard: 2048 }]);
    expect((await docker(node(), 'exec', containerName(env.id), 'sh', '-c', 'ulimit -n')).trim()).toBe('2048');
    expect(env.limits.nofile).toBe(2048);
    expect((await panel.api('GET', `/plans/${seed.planId}`)).body.nofile).toBe(2048);
  });

  it('runs the template\'s health check and shows its verdict live (5.27)', async () => {
    const c = await inspect(node(), containerName(env.id));
    expect(c.Config.Healthcheck.Test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/']);
    // Docker's health_status event reaches the environment through the fleet watch. Debian's
    // Docker 20.10 has no start interval (API 1.44), so its first check comes one interval
    // (60 s) after the start: the wait allows for that.
    await expect.poll(async () => (await panel.api('GET', `/environments/${env.id}`)).body.health, { timeout: 100_000, interval: 500 })
      .toBe('healthy');
    expect((await inspect(node(), containerName(env.id))).State.Health.Status).toBe('healthy');
  });
});
