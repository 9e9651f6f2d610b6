import { describe, expect, it } from 'vitest';
import { containerSpec, resourceLimits } from '../../server/docker/container-spec.js';

const environment = {
  id: 'env_0000000000aaaaaaaaaa', name: 'shop', customerId: 'cus_0000000000bbbbbbbbbb',
  limits: { cpus: 1.5, memoryMb: 512, swapMb: 256, diskMb: 2048, pids: 200 },
  ports: [{ name: 'http', protocol: 'tcp' as const, containerPort: 80, hostPort: 20001 }],
};
const template = {
  id: 'debian-nginx', command: ['nginx', '-g', 'daemon off;'], env: { LANG: 'C.UTF-8' },
  capabilities: ['CHOWN', 'NET_BIND_SERVICE'], user: null, workingDir: '/var/www/html',
  ports: [{ name: 'http', port: 80, protocol: 'tcp' as const }],
};

describe('containerSpec', () => {
  const spec = containerSpec({ environment, template, node: { diskQuota: true }, image: 'sha256:abc', panelId: 'pnl_x' });

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
    const s = containerSpec({ environment, template, node: { diskQuota: false }, image: 'x', panelId: 'p' });
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

  it('publishes each template port on its reserved host port', () => {
    expect(spec.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(spec.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostIp: '', HostPort: '20001' }] });
  });

  it('does not let the template add a capability list it was not given', () => {
    const s = containerSpec({ environment, template: { ...template, capabilities: [] }, node: { diskQuota: true }, image: 'x', panelId: 'p' });
    expect(s.HostConfig?.CapAdd).toEqual([]);
  });

  it('rounds fractional CPUs to whole nanoCPUs', () => {
    expect(resourceLimits({ cpus: 0.333, memoryMb: 16, swapMb: 0, diskMb: 64, pids: 16 }).NanoCpus).toBe(333_000_000);
  });
});
