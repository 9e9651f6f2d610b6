/**
 * Which parts of a container's filesystem a move copies. Only the container's own
 * changes against its template image cross the network: Docker lists them (changed,
 * added, deleted paths), and the template itself is loaded on the target from the
 * panel's image cache.
 */

export interface Change {
  path: string;
  kind: 'changed' | 'added' | 'deleted';
}

export interface Stat {
  size: number;
  mode: number;
  mtime: string;
}

export interface CopyPlan {
  /** Paths to archive from the source and unpack in their parent directory on the target. */
  copy: string[];
  /** Paths that exist on a fresh container from the template but not on the source. */
  remove: string[];
  /** Paths whose stat decides, at the final sync, whether they changed since the first copy. */
  leaves: string[];
}

/** The directory a path is in ('/' for a top-level path). */
export const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** Directories by the S_IFDIR bit of a Go os.FileMode (Docker reports those): the dir bit is 1 << 31. */
export function isDirectoryMode(mode: number): boolean {
  return mode >= 2 ** 31 && Math.floor(mode / 2 ** 31) % 2 === 1;
}

/**
 * Paths that are not a parent of another changed path (files, mostly), sorted. The walk up
 * from each path stops at the first parent already seen: its own parents were added with it.
 */
function leavesOf(changes: Change[]): string[] {
  const parents = parentsOf(changes);
  return inOrder(changes.filter((c) => c.kind !== 'deleted' && !parents.has(c.path)).map((c) => c.path));
}

/** Every directory above a changed path. */
function parentsOf(changes: Change[]): Set<string> {
  const parents = new Set<string>();
  for (const c of changes) {
    for (let p = parentOf(c.path); p !== '/' && !parents.has(p); p = parentOf(p)) parents.add(p);
  }
  return parents;
}

/**
 * The list sorted, in place. Sorting is the costliest step of planning a large move, so a
 * list already in order (Docker's are, and most derived ones) is only checked.
 */
function inOrder(list: string[]): string[] {
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1]! > list[i]!) return list.sort();
  }
  return list;
}

/** The paths sorted, without repeats (dropped by comparing neighbours). */
function sortedUnique(paths: Iterable<string>): string[] {
  const list = inOrder([...paths]);
  return list.filter((p, i) => i === 0 || p !== list[i - 1]);
}

const ADDED = 1;
const CHANGED = 2;
const DELETED = 4;
const PRESENT = ADDED | CHANGED;
const BIT = { added: ADDED, changed: CHANGED, deleted: DELETED } as const;

/** Each changed path's kinds as bits (should Docker list a path twice, both count). */
function kindsOf(changes: Change[]): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const c of changes) kinds.set(c.path, (kinds.get(c.path) ?? 0) | BIT[c.kind]);
  return kinds;
}

/** The highest added ancestor of a path (itself when its parent was not added). */
function addedRoot(path: string, added: Set<string>): string {
  let root = path;
  for (let p = parentOf(path); p !== '/' && added.has(p); p = parentOf(p)) root = p;
  return root;
}

/**
 * Drops paths that lie under another path of the list, sorted. Each path's ancestors are
 * looked up in a set (an ancestor always sorts before its descendants), so this is linear
 * in the number of paths times their depth: a move with 200k changed files plans in
 * milliseconds instead of comparing every path with every kept one.
 */
function outermost(paths: Iterable<string>): string[] {
  const sorted = sortedUnique(paths);
  const kept = new Set<string>();
  const out: string[] = [];
  for (const p of sorted) {
    if (!underAny(p, kept)) {
      kept.add(p);
      out.push(p);
    }
  }
  return out;
}

/** Whether one of the path's ancestors (by its '/' boundaries) is in the set. */
function underAny(path: string, set: ReadonlySet<string>): boolean {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    if (set.has(path.slice(0, i))) return true;
  }
  return false;
}

/** The first copy, made while the environment runs: every added tree whole, every changed file. */
export function firstCopy(changes: Change[]): CopyPlan {
  const added = new Set(changes.filter((c) => c.kind === 'added').map((c) => c.path));
  const leaves = leavesOf(changes);
  const copy = outermost(leaves.map((p) => (added.has(p) ? addedRoot(p, added) : p)));
  return { copy, remove: outermost(changes.filter((c) => c.kind === 'deleted').map((c) => c.path)), leaves };
}

/**
 * The final sync, made with the source stopped: whatever changed since the first copy
 * (a different size, mode or nanosecond mtime, or new), copied from its highest new
 * ancestor, and whatever the target holds that the source no longer does, removed. Its
 * `remove` is complete on its own: a template path deleted before the first copy and
 * still deleted is among Docker's deleted paths now, and one created again since is not.
 */
export function finalSync(first: { changes: Change[]; stats: Map<string, Stat | null> }, now: { changes: Change[]; stats: Map<string, Stat | null> }): CopyPlan {
  // One index per snapshot (path to kind) answers every membership question below.
  const before = kindsOf(first.changes);
  const after = kindsOf(now.changes);
  const known = (p: string) => ((before.get(p) ?? 0) & PRESENT) !== 0;
  // What the first copy saw as a leaf (a file) and is now a parent was replaced by a directory;
  // the first snapshot's parents are only needed when a walk meets such a path.
  let firstParents: Set<string> | undefined;
  const wasLeaf = (p: string) => known(p) && !(firstParents ??= parentsOf(first.changes)).has(p);
  const leaves = leavesOf(now.changes);
  const copy: string[] = [];
  for (const leaf of leaves) {
    const was = first.stats.get(leaf);
    const is = now.stats.get(leaf);
    if (is && was && was.size === is.size && was.mode === is.mode && was.mtime === is.mtime) continue;
    // Copy from the highest ancestor the target does not have yet, or has as a file.
    let root = leaf;
    for (let p = parentOf(leaf); p !== '/' && ((after.get(p) ?? 0) & ADDED) !== 0 && (!known(p) || wasLeaf(p)); p = parentOf(p)) root = p;
    copy.push(root);
  }
  const remove = now.changes.filter((c) => c.kind === 'deleted').map((c) => c.path);
  for (const c of first.changes) {
    const kindsNow = after.get(c.path) ?? 0;
    // Added before the first copy and gone since: the target has it and must not.
    if (c.kind === 'added' && (kindsNow & PRESENT) === 0) remove.push(c.path);
    // Changed before and back to the template's content since (not deleted): copy the source's version again.
    if (c.kind === 'changed' && kindsNow === 0 && first.stats.has(c.path)) copy.push(c.path);
  }
  const copying = new Set(copy);
  const removeOut = outermost(remove).filter((p) => !copying.has(p));
  return { copy: outermost(copy), remove: removeOut, leaves };
}
