import { formatBytes } from './move-size.js';

const MIB = 1048576;

/** The room a smaller disk must leave free beside the data: a tenth of it, and at least 32 MiB. */
export function shrinkHeadroomMb(diskMb: number): number {
  return Math.max(32, Math.ceil(diskMb * 0.1));
}

/**
 * Why an environment's data does not fit a smaller disk, or null when it does. `usedBytes`
 * is what the disk quota counts (on btrfs the template's files too), and the data must leave
 * some headroom: a site that fills its new disk the moment it starts is broken, not resized.
 */
export function shrinkRefusal(name: string, usedBytes: number, diskMb: number, planName: string): string | null {
  const headroom = shrinkHeadroomMb(diskMb);
  if (usedBytes + headroom * MIB <= diskMb * MIB) return null;
  const needed = Math.ceil(usedBytes / MIB) + headroom;
  return `${name}'s files take ${formatBytes(usedBytes)}, which does not fit plan ${planName}'s ${diskMb} MiB disk with the`
    + ` ${headroom} MiB it keeps free; delete files first, or choose a plan with at least ${needed} MiB of disk. Nothing was changed.`;
}
