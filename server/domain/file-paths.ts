/**
 * Paths inside an environment's data folder, as the file API and SFTP name them. The panel
 * checks them here by their words alone; whether a name that passes leads outside the folder
 * through a symlink is decided inside the container (see docker/file-agent.ts), where the
 * links are.
 *
 * A checked path is relative to the data folder, without `.` or empty parts: `''` is the
 * folder itself, `site/index.html` a file below it.
 */

/** The longest path accepted (Linux's own limit is 4096 bytes). */
export const MAX_PATH_BYTES = 4000;
const MAX_NAME_BYTES = 255;

export type PathCheck = { path: string } | { refused: string };

/**
 * A file API path: relative to the data folder. An absolute path, or `..` that climbs
 * out of the folder, is refused, not clamped: the caller meant somewhere else.
 */
export function apiPath(raw: string | undefined): PathCheck {
  const text = raw ?? '';
  if (text.startsWith('/')) return { refused: `"${shown(text)}" is absolute: paths are relative to the environment's data folder` };
  return walk(text, () => ({ refused: `"${shown(text)}" leads outside the environment's data folder` }));
}

/**
 * An SFTP path: the session sees the data folder as `/`, as a chrooted OpenSSH session
 * does, so `/index.html` and `index.html` are the same file and `/..` is `/`.
 */
export function sftpPath(raw: string): PathCheck {
  return walk(raw, () => null);
}

/** Resolves `.` and `..` by the words; `above` says what climbing out of the folder means (null: stay at its top). */
function walk(text: string, above: () => PathCheck | null): PathCheck {
  const parts: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        const refused = above();
        if (refused) return refused;
      }
      parts.pop();
      continue;
    }
    const bad = badName(part);
    if (bad) return { refused: bad };
    parts.push(part);
  }
  const path = parts.join('/');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return { refused: `the path is longer than ${MAX_PATH_BYTES} bytes` };
  return { path };
}

/** How an SFTP client is shown a checked path. */
export function sftpName(path: string): string {
  return `/${path}`;
}

/** The path's last part, or '' for the data folder itself. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The folder holding the path ('' for the data folder). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The breadcrumbs of a folder: each ancestor's name and path, the data folder first (named ''). */
export function crumbs(path: string): Array<{ name: string; path: string }> {
  const parts = path === '' ? [] : path.split('/');
  return [{ name: '', path: '' }, ...parts.map((name, i) => ({ name, path: parts.slice(0, i + 1).join('/') }))];
}

/** Why a single name is refused, or null. Control characters are refused: a name must be typeable and listable. */
export function badName(name: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `"${shown(name)}" holds a control character, which file names here may not`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a file name may be at most ${MAX_NAME_BYTES} bytes long`;
  if (name === '.' || name === '..' || name.includes('/')) return `"${shown(name)}" is not a file name`;
  return null;
}

/** A name as an error message quotes it: control characters escaped, and cut short. */
function shown(text: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return safe.length > 120 ? `${safe.slice(0, 120)}…` : safe;
}
