import type { ContainerCreateOptions } from 'dockerode';
import { MIB } from './container-spec.js';

export const EDGE_CONTAINER = 'kura-edge';
/** The edge carries this label (its panel's id) instead of io.kura.panel, so reconcile never takes it for an environment's. */
export const EDGE_LABEL = 'io.kura.edge';

/**
 * Kura's edge on a node: a system container, not a customer's. It uses the node's own
 * network (it answers on the node's public address and reaches every environment's
 * published port as a visitor would), and is otherwise held in: every capability dropped
 * but binding ports 80 and 443, no new privileges, no mounts, bounded memory, processes and
 * logs, restarted with the node. Its control socket is a file inside it.
 */
export function edgeSpec(image: string, panelId: string): ContainerCreateOptions {
  return {
    name: EDGE_CONTAINER,
    Image: image,
    Env: ['HOME=/var/lib/kura-edge', 'XDG_CONFIG_HOME=/var/lib/kura-edge/config', 'XDG_DATA_HOME=/var/lib/kura-edge/data'],
    Labels: { [EDGE_LABEL]: panelId },
    HostConfig: {
      NetworkMode: 'host',
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: ['NET_BIND_SERVICE'],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: 512 * MIB,
      MemorySwap: 512 * MIB,
      PidsLimit: 512,
      Binds: [],
      Mounts: [],
      Devices: [],
      IpcMode: 'private',
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    },
  };
}
