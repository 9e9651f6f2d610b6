import type { Stat } from './move-sync.js';

/**
 * Go's os.FileMode type bits as Docker reports them, shifted down by 19: irregular (19),
 * char device (21), socket (24), named pipe (25), device (26), symlink (27), directory (31).
 */
const NOT_REGULAR = [0, 2, 5, 6, 7, 8, 12].reduce((m, bit) => m | (1 << bit), 0);

export function isRegularFileMode(mode: number): boolean {
  return (Math.floor(mode / 2 ** 19) & NOT_REGULAR) === 0;
}

export interface ExpandedCopy {
  /** What the regular files to copy add up to as a copy writes them: holes of sparse files written out. */
  totalBytes: number;
  /** The largest files (up to three, each at least a tenth of the disk, or the largest alone), largest first. */
  largest: { path: string; size: number }[];
}

/**
 * Whether copying these files can fit the environment's disk. Docker's archive API writes a
 * sparse file out whole (a 1 TiB file with no data streams 1 TiB of zeros), while the disk
 * quota counts only the blocks a file really holds, so an environment can hold files whose
 * apparent sizes add up to far more than its disk. Such a copy could never fit on the target
 * and would only stream zeros until the quota (or, without one, the node's disk) is full:
 * it is refused before any byte moves. Null when the copy fits.
 */
export function copyBeyondDisk(stats: ReadonlyMap<string, Stat | null>, diskMb: number): ExpandedCopy | null {
  const files: { path: string; size: number }[] = [];
  let totalBytes = 0;
  for (const [path, stat] of stats) {
    if (!stat || !isRegularFileMode(stat.mode)) continue;
    files.push({ path, size: stat.size });
    totalBytes += stat.size;
  }
  const diskBytes = diskMb * 2 ** 20;
  if (totalBytes <= diskBytes) return null;
  const sorted = files.sort((a, b) => b.size - a.size);
  const large = sorted.slice(0, 3).filter((f) => f.size >= diskBytes / 10);
  return { totalBytes, largest: large.length > 0 ? large : sorted.slice(0, 1) };
}

/** "10.0 GiB", "512.0 MiB": sizes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
