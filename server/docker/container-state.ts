import type { ContainerInspectInfo } from 'dockerode';
import type { EnvironmentHealth } from '../domain/types.js';
import { healthOf } from './container-events.js';

/** What the panel reads of a container: Docker's inspect answer, in the panel's terms. */
export interface ContainerState {
  id: string;
  /** Docker's name for it, without the leading slash. */
  name: string;
  /** The id of the image it was made from. */
  imageId: string;
  /** Its networks' gateways (the node's side of each bridge). */
  gateways: string[];
  running: boolean;
  status: string;
  exitCode: number;
  oomKilled: boolean;
  labels: Record<string, string>;
  hostConfig: { NanoCpus: number; Memory: number; MemorySwap: number; PidsLimit: number };
  /** The disk size Docker enforces (StorageOpt.size), in bytes; null when none. */
  diskBytes: number | null;
  /** The open-files limit (soft), when one is set. */
  nofile: number | null;
  /** Published ports: the container's port and protocol, and the node's port. */
  published: Array<{ containerPort: number; protocol: 'tcp' | 'udp'; hostPort: number }>;
  /** The template's health check's verdict; null when the container has none. */
  health: EnvironmentHealth | null;
}

export function containerState(c: ContainerInspectInfo): ContainerState {
  const hc = c.HostConfig as unknown as ContainerState['hostConfig'];
  return {
    id: c.Id, name: c.Name.replace(/^\//, ''), imageId: c.Image,
    gateways: Object.values(c.NetworkSettings?.Networks ?? {}).map((n) => n.Gateway).filter((g): g is string => !!g),
    running: c.State.Running, status: c.State.Status, exitCode: c.State.ExitCode, oomKilled: c.State.OOMKilled,
    labels: c.Config.Labels ?? {},
    hostConfig: { NanoCpus: hc.NanoCpus, Memory: hc.Memory, MemorySwap: hc.MemorySwap, PidsLimit: hc.PidsLimit },
    diskBytes: diskSize(c.HostConfig.StorageOpt?.size),
    nofile: (c.HostConfig.Ulimits ?? []).find((u) => u.Name === 'nofile')?.Soft ?? null,
    published: Object.entries(c.HostConfig.PortBindings ?? {}).flatMap(([key, bindings]) => {
      const [port, protocol] = key.split('/');
      const hostPort = Number((bindings as Array<{ HostPort?: string }> | null)?.[0]?.HostPort);
      return Number.isInteger(hostPort) && hostPort > 0 && (protocol === 'tcp' || protocol === 'udp')
        ? [{ containerPort: Number(port), protocol, hostPort }] : [];
    }),
    health: healthOf((c.State as { Health?: { Status?: string } }).Health?.Status),
  };
}

/** StorageOpt's size: bytes as the panel writes it, or with a unit (10G) as the docker CLI may. */
function diskSize(size: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)b?$/i.exec(size ?? '');
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * unit);
}
