import { describe, expect, it } from 'vitest';
import { ID_PATTERN, newId } from '../../server/lib/ids.js';

describe('ids', () => {
  it('sort in the order they were made, even within one millisecond or when the clock steps back', () => {
    const t = Date.now() + 60_000;
    const ids = [newId('tst', t), newId('tst', t), newId('tst', t), newId('tst', t - 5), newId('tst', t + 1), ...Array.from({ length: 2000 }, () => newId('tst', t + 1))];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(new RegExp(ID_PATTERN));
  });
});
