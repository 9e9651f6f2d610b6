import { describe, expect, it } from 'vitest';
import { dockerCliArgs, labNodeInfo } from '../../server/lab/lab.js';
import { checkIndex, indexFromName, isUnder, nodePaths } from '../../server/lab/paths.js';

describe('lab paths', () => {
  it('derives names and addresses from the index', () => {
    const p = nodePaths('/var/lib/kura-lab', 7);
    expect(p.name).toBe('lab7');
    expect(p.netns).toBe('kura-lab7');
    expect(p.veth).toBe('klab7');
    expect(p.address).toBe('10.231.7.2');
    expect(p.hostAddress).toBe('10.231.7.1');
    expect(p.endpoint).toBe('tcp://10.231.7.2:2376');
    expect(p.socket).toBe('unix:///run/kura-lab/7/docker.sock');
    expect(p.dataRoot).toBe('/var/lib/kura-lab/nodes/7/data');
  });

  it('keeps interface and socket names within kernel limits at the largest index', () => {
    const p = nodePaths('/var/lib/kura-lab', 250);
    expect(p.veth.length).toBeLessThanOrEqual(15);
    // containerd nests its socket below the exec-root; sun_path holds 108 bytes.
    expect(`${p.execRoot}/containerd/containerd.sock`.length).toBeLessThan(108);
  });

  it('recognises only its own names', () => {
    expect(indexFromName('kura-lab12', 'kura-lab')).toBe(12);
    expect(indexFromName('klab3', 'klab')).toBe(3);
    expect(indexFromName('klab03', 'klab')).toBeNull();
    expect(indexFromName('klab', 'klab')).toBeNull();
    expect(indexFromName('klab999', 'klab')).toBeNull();
    expect(indexFromName('eth0', 'klab')).toBeNull();
  });

  it('rejects bad indices', () => {
    expect(() => checkIndex(0)).toThrow();
    expect(() => checkIndex(1.5)).toThrow();
    expect(() => checkIndex(251)).toThrow();
    expect(checkIndex(40)).toBe(40);
  });

  it('compares paths by component', () => {
    expect(isUnder('/run/kura-lab/1/exec', '/run/kura-lab/1')).toBe(true);
    expect(isUnder('/run/kura-lab/10', '/run/kura-lab/1')).toBe(false);
    expect(isUnder('/run/kura-lab/1', '/run/kura-lab/1')).toBe(true);
  });

  it('builds docker CLI arguments for mutual TLS', () => {
    const node = labNodeInfo(2, { dir: '/tmp/lab' });
    expect(dockerCliArgs(node)).toEqual([
      '--tlsverify', '--tlscacert', '/tmp/lab/tls/ca.pem', '--tlscert', '/tmp/lab/tls/client-cert.pem',
      '--tlskey', '/tmp/lab/tls/client-key.pem', '-H', 'tcp://10.231.2.2:2376',
    ]);
  });
});
