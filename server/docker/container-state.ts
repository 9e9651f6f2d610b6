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
    health: healthOf((c.State as { Health?: { Status?: string } }).Health?.Status),
  };
}
