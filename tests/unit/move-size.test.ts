import { describe, expect, it } from 'vitest';
import { copyBeyondDisk, formatBytes, isRegularFileMode } from '../../server/domain/move-size.js';

const FILE = 0o644;
const DIR = 2 ** 31 + 0o755;
const SYMLINK = 2 ** 27 + 0o777;
const stat = (size: number, mode = FILE) => ({ size, mode, mtime: '2026-01-01T00:00:00.000000001Z' });

describe('what a move would write out', () => {
  it('tells regular files from directories, links and devices by Go FileMode bits', () => {
    expect(isRegularFileMode(FILE)).toBe(true);
    expect(isRegularFileMode(FILE + 2 ** 23)).toBe(true); // setuid is not a type
    expect(isRegularFileMode(DIR)).toBe(false);
    expect(isRegularFileMode(SYMLINK)).toBe(false);
    expect(isRegularFileMode(2 ** 26 + 2 ** 21 + 0o666)).toBe(false); // char device
  });

  it('lets a copy through that fits the disk once written out', () => {
    const stats = new Map([['/srv/a', stat(100 * 2 ** 20)], ['/srv/dir', stat(10 * 2 ** 30, DIR)], ['/srv/gone', null]]);
    expect(copyBeyondDisk(stats, 256)).toBeNull();
  });

  it('refuses a sparse file larger than the disk, naming the largest files', () => {
    const stats = new Map([['/srv/small', stat(1000)], ['/srv/sparse.img', stat(10 * 2 ** 40)], ['/srv/link', stat(2 ** 40, SYMLINK)]]);
    const over = copyBeyondDisk(stats, 256)!;
    expect(over.totalBytes).toBe(10 * 2 ** 40 + 1000);
    expect(over.largest).toEqual([{ path: '/srv/sparse.img', size: 10 * 2 ** 40 }]);
    expect(formatBytes(over.largest[0]!.size)).toBe('10.0 TiB');
  });

  it('refuses many files that together pass the disk', () => {
    const stats = new Map(Array.from({ length: 5 }, (_, i) => [`/srv/f${i}`, stat(60 * 2 ** 20)] as const));
    expect(copyBeyondDisk(new Map(stats), 256)?.totalBytes).toBe(300 * 2 ** 20);
  });
});
