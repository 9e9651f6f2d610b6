import type { ContainerCreateOptions } from 'dockerode';
import { MIB } from './container-spec.js';

/** The helper's name on a node: one per panel, so panels sharing a node (a test lab) never take each other's. */
export const backupContainer = (panelId: string): string => `kura-backup-${panelId}`;
/** The helper carries this label (its panel's id) instead of io.kura.panel, so reconcile never takes it for an environment's. */
export const BACKUP_LABEL = 'io.kura.backup';
/** Where the node's Docker root is seen inside the helper. */
export const DOCKER_ROOT_INSIDE = '/docker';

/**
 * Kura's backup helper on a node: a system container, not a customer's. It snapshots an
 * environment's writable layer (btrfs) and runs restic over the snapshot, so it sees the
 * node's Docker root. It has no network at all (its repository comes through its standard
 * streams), and only the capabilities that work needs: SYS_ADMIN for btrfs snapshots, the
 * file capabilities to read every file and to restore owners, modes and device nodes.
 */
export function backupSpec(image: string, panelId: string, dockerRoot: string): ContainerCreateOptions {
  return {
    name: backupContainer(panelId),
    Image: image,
    Env: ['HOME=/root', 'RESTIC_CACHE_DIR=/root/cache'],
    Labels: { [BACKUP_LABEL]: panelId },
    HostConfig: {
      NetworkMode: 'none',
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: ['SYS_ADMIN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'CHOWN', 'FSETID', 'MKNOD', 'SETFCAP'],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: 1024 * MIB,
      MemorySwap: 1024 * MIB,
      PidsLimit: 256,
      Binds: [`${dockerRoot}:${DOCKER_ROOT_INSIDE}`],
      Devices: [],
      IpcMode: 'private',
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    },
  };
}
