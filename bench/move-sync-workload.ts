import type { Change, Stat } from '../server/domain/move-sync.js';

/**
 * A synthetic move of `files` changed files, as Docker's change list and the stats the move
 * reads show it: an application tree whose template files were edited (each its own copy),
 * a data tree the environment added (copied whole), and deleted template files. The second
 * snapshot, for the final sync, has a tenth of the files changed since, some new, some gone.
 */
export function moveWorkload(files: number): { first: Snapshot; now: Snapshot } {
  const firstChanges: Change[] = [];
  const nowChanges: Change[] = [];
  const firstStats = new Map<string, Stat | null>();
  const nowStats = new Map<string, Stat | null>();
  const dirs = new Set<string>();
  const dir = (path: string, kind: Change['kind']) => {
    if (dirs.has(path)) return;
    dirs.add(path);
    firstChanges.push({ path, kind });
    nowChanges.push({ path, kind });
  };
  dir('/srv', 'changed');
  dir('/srv/app', 'changed');
  dir('/srv/data', 'added');
  for (let i = 0; i < files; i++) {
    const share = i % 10;
    if (share < 6) {
      const d = `/srv/app/m${i % 500}`;
      dir(d, 'changed');
      dir(`${d}/s${Math.floor(i / 500) % 20}`, 'changed');
      const path = `${d}/s${Math.floor(i / 500) % 20}/file-${i}.js`;
      both(path, 'changed', i);
    } else if (share < 9) {
      const d = `/srv/data/u${i % 300}`;
      dir(d, 'added');
      both(`${d}/upload-${i}.bin`, 'added', i);
    } else {
      const path = `/srv/app/m${i % 500}/old-${i}.js`;
      firstChanges.push({ path, kind: 'deleted' });
      nowChanges.push({ path, kind: 'deleted' });
    }
  }
  return { first: { changes: firstChanges, stats: firstStats }, now: { changes: nowChanges, stats: nowStats } };

  function both(path: string, kind: Change['kind'], i: number) {
    const stat: Stat = { size: 1000 + i, mode: 0o644, mtime: '2026-01-01T00:00:00.000000001Z' };
    firstChanges.push({ path, kind });
    firstStats.set(path, stat);
    if (i % 37 === 0) return; // gone since the first copy
    nowChanges.push({ path, kind });
    nowStats.set(path, i % 10 === 3 ? { ...stat, size: stat.size + 1 } : stat);
    if (i % 41 === 0) {
      const fresh = `${path}.new`;
      nowChanges.push({ path: fresh, kind: 'added' });
      nowStats.set(fresh, stat);
    }
  }
}

export interface Snapshot {
  changes: Change[];
  stats: Map<string, Stat | null>;
}
