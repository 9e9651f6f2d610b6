import { isIP } from 'node:net';
import type { ContainerCreateOptions } from 'dockerode';
import type { Environment, Limits, NodeRecord, Template } from '../domain/types.js';

export const MIB = 1048576;
const SECOND = 1e9;

export const LABEL = {
  environment: 'io.kura.environment',
  customer: 'io.kura.customer',
  panel: 'io.kura.panel',
  template: 'io.kura.template',
} as const;

export function containerName(environmentId: string): string {
  return `kura-${environmentId}`;
}

/** The name a rebuilt container takes beside the one it replaces on the same node, until that one goes. */
export function nextContainerName(environmentId: string): string {
  return `${containerName(environmentId)}-next`;
}

export function customerNetworkName(customerId: string): string {
  return `kura-net-${customerId}`;
}

/** The live-updatable part of the plan mapping, shared by create and resize. */
export function resourceLimits(limits: Limits) {
  return {
    NanoCpus: Math.round(limits.cpus * 1e9),
    Memory: limits.memoryMb * MIB,
    MemorySwap: (limits.memoryMb + limits.swapMb) * MIB,
    PidsLimit: limits.pids,
  };
}

export interface SpecInput {
  environment: Pick<Environment, 'id' | 'name' | 'customerId' | 'limits' | 'ports'>;
  template: Pick<Template, 'id' | 'command' | 'env' | 'capabilities' | 'user' | 'workingDir' | 'ports' | 'healthcheck'>;
  node: Pick<NodeRecord, 'diskQuota' | 'publicHost'>;
  image: string;
  panelId: string;
  /** Another name than the environment's own, for a container made beside the current one. */
  name?: string;
}

/**
 * The Docker create options for an environment: the plan's limits exactly as the
 * contract maps them, and the hardened baseline every customer container gets.
 */
export function containerSpec({ environment, template, node, image, panelId, name }: SpecInput): ContainerCreateOptions {
  const network = customerNetworkName(environment.customerId);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  // Published only on the node's public address, not every address the node has (CIS 5.14);
  // a public host given as a name cannot be bound, so such a node keeps Docker's default.
  const hostIp = isIP(node.publicHost) ? node.publicHost : '';
  for (const p of environment.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [{ HostIp: hostIp, HostPort: String(p.hostPort) }];
  }
  const health = template.healthcheck;
  return {
    name: name ?? containerName(environment.id),
    Image: image,
    Hostname: environment.name,
    Cmd: template.command,
    Env: Object.entries(template.env).map(([k, v]) => `${k}=${v}`),
    ...(template.user ? { User: template.user } : {}),
    ...(template.workingDir ? { WorkingDir: template.workingDir } : {}),
    Labels: {
      [LABEL.environment]: environment.id,
      [LABEL.customer]: environment.customerId,
      [LABEL.panel]: panelId,
      [LABEL.template]: template.id,
    },
    ExposedPorts: exposed,
    ...(health ? { Healthcheck: {
      Test: ['CMD', ...health.command],
      Interval: health.intervalSeconds * SECOND, Timeout: health.timeoutSeconds * SECOND,
      StartPeriod: health.startPeriodSeconds * SECOND, StartInterval: health.startIntervalSeconds * SECOND, Retries: health.retries,
    } } : {}),
    HostConfig: {
      ...resourceLimits(environment.limits),
      ...(node.diskQuota ? { StorageOpt: { size: `${environment.limits.diskMb * MIB}` } } : {}),
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...template.capabilities],
      SecurityOpt: ['no-new-privileges:true'],
      NetworkMode: network,
      PortBindings: bindings,
      Binds: [],
      Mounts: [],
      Devices: [],
      // Open files per process, soft and hard alike (CIS 5.19): unbounded, one customer could exhaust the node's file table.
      Ulimits: [{ Name: 'nofile', Soft: environment.limits.nofile, Hard: environment.limits.nofile }],
      PidMode: '',
      IpcMode: 'private',
      UsernsMode: '',
      ReadonlyRootfs: false,
      OomKillDisable: false,
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [environment.name] } } },
  };
}
