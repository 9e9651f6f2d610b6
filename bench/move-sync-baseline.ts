/**
 * The move planner as it was before planning became near-linear, kept only as the baseline
 * for bench/move-sync.ts and as the reference the unit tests compare the planner with on
 * random inputs: it compares every path with every kept one (quadratic in changed files).
 * Not used by the panel.
 */
import type { Change, CopyPlan, Stat } from '../server/domain/move-sync.js';

const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** Paths that are not a parent of another changed path (files, mostly). */
function leavesOf(changes: Change[]): string[] {
  const present = changes.filter((c) => c.kind !== 'deleted').map((c) => c.path);
  const parents = new Set<string>();
  for (const c of changes) {
    for (let p = parentOf(c.path); p !== '/'; p = parentOf(p)) parents.add(p);
  }
  return present.filter((p) => !parents.has(p)).sort();
}

/** The highest added ancestor of a path (itself when its parent was not added). */
function addedRoot(path: string, added: Set<string>): string {
  let root = path;
  for (let p = parentOf(path); p !== '/' && added.has(p); p = parentOf(p)) root = p;
  return root;
}

/** Drops paths that lie under another path of the list. */
function outermost(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  const out: string[] = [];
  for (const p of sorted) {
    if (!out.some((o) => p.startsWith(`${o}/`))) out.push(p);
  }
  return out;
}

/** The first copy, made while the environment runs: every added tree whole, every changed file. */
export function baselineFirstCopy(changes: Change[]): CopyPlan {
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
export function baselineFinalSync(first: { changes: Change[]; stats: Map<string, Stat | null> }, now: { changes: Change[]; stats: Map<string, Stat | null> }): CopyPlan {
  const known = new Set(first.changes.filter((c) => c.kind !== 'deleted').map((c) => c.path));
  // What the first copy saw as a leaf (a file) and is now a parent was replaced by a directory.
  const firstLeaves = new Set(leavesOf(first.changes));
  const addedNow = new Set(now.changes.filter((c) => c.kind === 'added').map((c) => c.path));
  const leaves = leavesOf(now.changes);
  const copy: string[] = [];
  for (const leaf of leaves) {
    const before = first.stats.get(leaf);
    const after = now.stats.get(leaf);
    if (after && before && before.size === after.size && before.mode === after.mode && before.mtime === after.mtime) continue;
    // Copy from the highest ancestor the target does not have yet, or has as a file.
    let root = leaf;
    for (let p = parentOf(leaf); p !== '/' && addedNow.has(p) && (!known.has(p) || firstLeaves.has(p)); p = parentOf(p)) root = p;
    copy.push(root);
  }
  const presentNow = new Set(now.changes.filter((c) => c.kind !== 'deleted').map((c) => c.path));
  const deletedNow = new Set(now.changes.filter((c) => c.kind === 'deleted').map((c) => c.path));
  const remove = [...deletedNow];
  for (const c of first.changes) {
    // Added before the first copy and gone since: the target has it and must not.
    if (c.kind === 'added' && !presentNow.has(c.path)) remove.push(c.path);
    // Changed before and back to the template's content since (not deleted): copy the source's version again.
    if (c.kind === 'changed' && !presentNow.has(c.path) && !deletedNow.has(c.path) && first.stats.has(c.path)) copy.push(c.path);
  }
  const removeOut = outermost(remove).filter((p) => !copy.includes(p));
  return { copy: outermost(copy), remove: removeOut, leaves };
}
