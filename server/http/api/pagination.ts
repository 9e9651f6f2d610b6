/** Cursor pagination over time-ordered ids: fetch one extra row to know whether a next page exists. */
export function paginate<T extends { id: string }>(fetch: (after: string, limit: number) => T[], limit = 50, cursor?: string) {
  const rows = fetch(cursor ?? '', limit + 1);
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}
