import { describe, expect, it } from 'vitest';
import { containerSpec, resourceLimits } from '../../server/docker/container-spec.js';

const environment = {
  id: 'env_0000000000aaaaaaaaaa', name: 'shop', customerId: 'cus_0000000000bbbbbbbbbb',
  limits: { cpus: 1.5, memoryMb: 512, swapMb: 256, diskMb: 2048, pids: 200, nofile: 4096 },
  ports: [{ name: 'http', protocol: 'tcp' as const, containerPort: 80, hostPort: 20001 }],
};
const template = {
  id: 'debian-nginx', command: ['nginx', '-g', 'daemon off;'], env: { LANG: 'C.UTF-8' },
  capabilities: ['CHOWN', 'NET_BIND_SERVICE'], user: null, workingDir: '/var/www/html',
  ports: [{ name: 'http', port: 80, protocol: 'tcp' as const }],
  healthcheck: { command: ['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/80'], intervalSeconds: 30, timeoutSeconds: 5, startPeriodSeconds: 10, startIntervalSeconds: 2, retries: 3 },
};

describe('containerSpec', () => {
  const spec = containerSpec({ environment, template, node: { diskQuota: true, publicHost: '10.0.0.5' }, image: 'sha256:abc', panelId: 'pnl_x' });

  it('maps the plan exactly as the contract says', () => {
    expect(spec.HostConfig).toMatchObject({
      NanoCpus: 1_500_000_000,
      Memory: 512 * 1048576,
      MemorySwap: (512 + 256) * 1048576,
      PidsLimit: 200,
      StorageOpt: { size: String(2048 * 1048576) },
    });
  });

  it('leaves out StorageOpt on a node that cannot enforce it', () => {
    const s = containerSpec({ environment, template, node: { diskQuota: false, publicHost: '10.0.0.5' }, image: 'x', panelId: 'p' });
    expect(s.HostConfig?.StorageOpt).toBeUndefined();
  });

  it('carries the contract labels and the panel label', () => {
    expect(spec.Labels).toEqual({
      'io.kura.environment': environment.id, 'io.kura.customer': environment.customerId,
      'io.kura.panel': 'pnl_x', 'io.kura.template': 'debian-nginx',
    });
    expect(spec.name).toBe(`kura-${environment.id}`);
  });

  it('applies the hardened baseline', () => {
    const hc = spec.HostConfig!;
    expect(hc.Privileged).toBe(false);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toEqual(['CHOWN', 'NET_BIND_SERVICE']);
    expect(hc.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(hc.Binds).toEqual([]);
    expect(hc.Mounts).toEqual([]);
    expect(hc.Devices).toEqual([]);
    expect(hc.PidMode).toBe('');
    expect(hc.UsernsMode).toBe('');
    expect(hc.IpcMode).toBe('private');
    expect(hc.NetworkMode).toBe(`kura-net-${environment.customerId}`);
    expect(hc.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    expect(hc.RestartPolicy?.Name).toBe('unless-stopped');
  });

  it('publishes each template port on its reserved host port, on the node\'s public address only', () => {
    expect(spec.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(spec.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostIp: '10.0.0.5', HostPort: '20001' }] });
    const named = containerSpec({ environment, template, node: { diskQuota: true, publicHost: 'node1.example.net' }, image: 'x', panelId: 'p' });
    expect(named.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostIp: '', HostPort: '20001' }] });
  });

  it('bounds open files per process by the plan (CIS 5.19)', () => {
    expect(spec.HostConfig?.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 4096 }]);
  });

  it('runs the template\'s health check without a shell of Docker\'s, in nanoseconds (CIS 5.27)', () => {
    expect(spec.Healthcheck).toEqual({ Test: ['CMD', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/80'],
      Interval: 30e9, Timeout: 5e9, StartPeriod: 10e9, StartInterval: 2e9, Retries: 3 });
    const none = containerSpec({ environment, template: { ...template, healthcheck: null }, node: { diskQuota: true, publicHost: '10.0.0.5' }, image: 'x', panelId: 'p' });
    expect(none.Healthcheck).toBeUndefined();
  });

  it('does not let the template add a capability list it was not given', () => {
    const s = containerSpec({ environment, template: { ...template, capabilities: [] }, node: { diskQuota: true, publicHost: '10.0.0.5' }, image: 'x', panelId: 'p' });
    expect(s.HostConfig?.CapAdd).toEqual([]);
  });

  it('rounds fractional CPUs to whole nanoCPUs', () => {
    expect(resourceLimits({ cpus: 0.333, memoryMb: 16, swapMb: 0, diskMb: 64, pids: 16, nofile: 4096 }).NanoCpus).toBe(333_000_000);
  });
});
