import { ConflictError } from '../lib/errors.js';

/**
 * SQLite's failures become the project's errors here, where they arise: no other layer
 * reads SQLite's messages. A UNIQUE constraint names its table and column only in the
 * message text ("UNIQUE constraint failed: customers.email").
 */
function uniqueColumn(err: unknown): string | null {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return null;
  return /UNIQUE constraint failed: ([\w.]+)/.exec(err.message)?.[1] ?? null;
}

/**
 * Runs a write; a UNIQUE violation on one of `columns` ("table.column") becomes the
 * ConflictError given for it, with the column's field name in its details.
 */
export function unique<T>(write: () => T, columns: Record<string, () => string>): T {
  try {
    return write();
  } catch (err) {
    const column = uniqueColumn(err);
    const message = column ? columns[column] : undefined;
    if (column && message) throw new ConflictError(message(), { field: column.split('.')[1] });
    throw err;
  }
}
