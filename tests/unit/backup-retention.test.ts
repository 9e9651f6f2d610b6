import { describe, expect, it } from 'vitest';
import {
  backupPathRefusal, DAY_MS, isoWeek, retentionRemoves, scheduledBackupDue, toMb, type Backup, type BackupPolicy,
} from '../../server/domain/backups.js';

/** A succeeded, unkept backup of one environment, named by its id and taken at `createdAt`. */
function backup(id: string, createdAt: string, extra: Partial<Backup> = {}): Backup {
  return {
    id, environmentId: 'env-1', customerId: 'cust-1', environmentName: 'shop', templateId: 'php', planId: 'small',
    nodeId: 'node-1', status: 'succeeded', kind: 'scheduled', keep: false, note: '', snapshotId: `snap-${id}`,
    sizeBytes: 1000, addedBytes: 100, frozenMs: 50, error: null, expiresAt: null, createdAt, finishedAt: createdAt,
    ...extra,
  };
}

/** A policy that keeps nothing by its counts, so each test turns on only what it checks. */
const policy = (p: Partial<BackupPolicy>): BackupPolicy => ({ schedule: 'none', keepLast: 0, keepDaily: 0, keepWeekly: 0, storageMb: null, ...p });

const removedIds = (backups: readonly Backup[], p: BackupPolicy): string[] => retentionRemoves(backups, p).map((b) => b.id).sort();

describe('retention', () => {
  it('keeps the newest keepLast backups and removes the older ones', () => {
    const backups = [
      backup('b1', '2026-03-01T10:00:00.000Z'),
      backup('b2', '2026-03-02T10:00:00.000Z'),
      backup('b3', '2026-03-03T10:00:00.000Z'),
      backup('b4', '2026-03-04T10:00:00.000Z'),
      backup('b5', '2026-03-05T10:00:00.000Z'),
    ];
    expect(removedIds(backups, policy({ keepLast: 3 }))).toEqual(['b1', 'b2']);
    expect(removedIds(backups, policy({ keepLast: 1 }))).toEqual(['b1', 'b2', 'b3', 'b4']);
  });

  it('keeps the newest backup of each of the last keepDaily days that have one', () => {
    const backups = [
      backup('d10-morning', '2026-03-10T08:00:00.000Z'),
      backup('d10-noon', '2026-03-10T12:00:00.000Z'),
      backup('d10-evening', '2026-03-10T20:00:00.000Z'),
      backup('d09-early', '2026-03-09T00:00:00.000Z'),
      backup('d09-late', '2026-03-09T23:59:59.000Z'),
      // No backup on 03-06..03-08: days are the backups' days, not the calendar's.
      backup('d05', '2026-03-05T09:00:00.000Z'),
      backup('d01', '2026-03-01T09:00:00.000Z'),
    ];
    expect(removedIds(backups, policy({ keepDaily: 3 }))).toEqual(['d01', 'd09-early', 'd10-morning', 'd10-noon']);
    expect(removedIds(backups, policy({ keepDaily: 1 }))).toEqual(['d01', 'd05', 'd09-early', 'd09-late', 'd10-morning', 'd10-noon']);
  });

  it('keeps the newest backup of each of the last keepWeekly ISO weeks, across a year boundary', () => {
    // 2026-01-01 is a Thursday, so 2026 has 53 ISO weeks; 2026-W53 runs from Monday 2026-12-28
    // to Sunday 2027-01-03, and 2027-W01 starts on Monday 2027-01-04.
    const backups = [
      backup('w01-2027-mon', '2027-01-04T10:00:00.000Z'),
      backup('w53-fri-jan1', '2027-01-01T10:00:00.000Z'),
      backup('w53-thu-dec31', '2026-12-31T10:00:00.000Z'),
      backup('w52-sun', '2026-12-27T10:00:00.000Z'),
      backup('w52-mon', '2026-12-21T10:00:00.000Z'),
      backup('w51-sun', '2026-12-20T10:00:00.000Z'),
    ];
    // Weeks newest first: 2027-W01, 2026-W53 (newest 2027-01-01), 2026-W52 (newest 2026-12-27).
    // Were 2027-01-01 counted in a week of its own, 2026-12-31 would stay and 2026-12-27 would go.
    expect(removedIds(backups, policy({ keepWeekly: 3 }))).toEqual(['w51-sun', 'w52-mon', 'w53-thu-dec31']);
    expect(removedIds(backups, policy({ keepWeekly: 2 }))).toEqual(['w51-sun', 'w52-mon', 'w52-sun', 'w53-thu-dec31']);
  });

  it('keeps the union of what keepLast, keepDaily and keepWeekly each keep', () => {
    const backups = [
      backup('mar10-b', '2026-03-10T20:00:00.000Z'),
      backup('mar10-a', '2026-03-10T08:00:00.000Z'),
      backup('mar09', '2026-03-09T08:00:00.000Z'),
      backup('mar02', '2026-03-02T08:00:00.000Z'), // Monday, 2026-W10
      backup('feb25', '2026-02-25T08:00:00.000Z'), // 2026-W09
      backup('feb18', '2026-02-18T08:00:00.000Z'), // 2026-W08
    ];
    // keepLast 2: mar10-b, mar10-a. keepDaily 2: mar10-b, mar09. keepWeekly 3: mar10-b (W11), mar02 (W10), feb25 (W09).
    expect(removedIds(backups, policy({ keepLast: 2, keepDaily: 2, keepWeekly: 3 }))).toEqual(['feb18']);
  });

  it('never removes a kept backup, and a kept backup takes no slot', () => {
    const backups = [
      backup('newest-kept', '2026-03-10T10:00:00.000Z', { keep: true, kind: 'manual' }),
      backup('b9', '2026-03-09T10:00:00.000Z'),
      backup('b8', '2026-03-08T10:00:00.000Z'),
      backup('b7', '2026-03-07T10:00:00.000Z'),
      backup('old-kept', '2025-01-01T10:00:00.000Z', { keep: true }),
    ];
    // Had newest-kept taken one of the two slots, b8 would go too.
    expect(removedIds(backups, policy({ keepLast: 2 }))).toEqual(['b7']);
    // Same with the daily slots: three days besides the kept one's.
    expect(removedIds(backups, policy({ keepDaily: 2 }))).toEqual(['b7']);
    expect(removedIds(backups, policy({}))).toEqual(['b7', 'b8']);
  });

  it('never removes failed or running backups, and they take no slot', () => {
    const backups = [
      backup('running', '2026-03-10T12:00:00.000Z', { status: 'running', snapshotId: null, finishedAt: null }),
      backup('failed-new', '2026-03-10T11:00:00.000Z', { status: 'failed', snapshotId: null, error: 'node unavailable' }),
      backup('s3', '2026-03-09T10:00:00.000Z'),
      backup('s2', '2026-03-08T10:00:00.000Z'),
      backup('s1', '2026-03-07T10:00:00.000Z'),
      backup('failed-old', '2026-01-01T10:00:00.000Z', { status: 'failed', snapshotId: null, error: 'restic exited 1' }),
    ];
    expect(removedIds(backups, policy({ keepLast: 2 }))).toEqual(['s1']);
    // 03-10 has only a running and a failed backup: it is no day of retention's.
    expect(removedIds(backups, policy({ keepDaily: 2 }))).toEqual(['s1']);
    expect(removedIds(backups, policy({}))).toEqual(['s1', 's2']);
  });

  it('always keeps the newest succeeded backup, whatever the counts say', () => {
    const backups = [
      backup('failed-newest', '2026-03-11T10:00:00.000Z', { status: 'failed', snapshotId: null, error: 'disk full' }),
      backup('newest-ok', '2026-03-10T10:00:00.000Z'),
      backup('older', '2026-03-03T10:00:00.000Z'),
      backup('oldest', '2026-02-01T10:00:00.000Z'),
    ];
    // keepLast is at least 1 through the API; 0 shows the newest stays even without it.
    expect(removedIds(backups, policy({ keepLast: 0, keepDaily: 0, keepWeekly: 0 }))).toEqual(['older', 'oldest']);
    expect(removedIds([backup('only', '2026-03-10T10:00:00.000Z')], policy({}))).toEqual([]);
  });

  it('removes nothing under a policy that keeps everything', () => {
    const backups = Array.from({ length: 20 }, (_, i) => backup(`b${i}`, new Date(Date.UTC(2026, 0, 1 + i * 3, 10)).toISOString()));
    expect(retentionRemoves(backups, policy({ keepLast: 20 }))).toEqual([]);
    expect(retentionRemoves(backups, policy({ keepDaily: 20 }))).toEqual([]);
    expect(retentionRemoves([], policy({ keepLast: 1, keepDaily: 1, keepWeekly: 1 }))).toEqual([]);
  });

  it('decides the same whatever the order of its input', () => {
    const backups = [
      backup('a', '2026-03-10T20:00:00.000Z'),
      backup('b', '2026-03-10T08:00:00.000Z'),
      backup('c', '2026-03-09T08:00:00.000Z'),
      backup('d', '2026-03-02T08:00:00.000Z'),
      backup('e', '2026-02-25T08:00:00.000Z'),
      backup('f', '2026-02-18T08:00:00.000Z'),
      backup('g', '2026-02-17T08:00:00.000Z'),
    ];
    const p = policy({ keepLast: 1, keepDaily: 2, keepWeekly: 2 });
    const expected = ['b', 'e', 'f', 'g'];
    expect(removedIds(backups, p)).toEqual(expected);
    expect(removedIds([...backups].reverse(), p)).toEqual(expected);
    const shuffled = [backups[3], backups[6], backups[0], backups[5], backups[2], backups[4], backups[1]] as Backup[];
    expect(removedIds(shuffled, p)).toEqual(expected);
  });
});

describe('ISO weeks', () => {
  it('names the ISO week of a date, by UTC', () => {
    expect(isoWeek('2026-11-30T00:00:00.000Z')).toBe('2026-W49'); // a Monday
    expect(isoWeek('2026-11-29T23:59:59.999Z')).toBe('2026-W48'); // the Sunday before
    expect(isoWeek('2026-01-01T12:00:00.000Z')).toBe('2026-W01'); // a Thursday
    expect(isoWeek('2025-12-29T12:00:00.000Z')).toBe('2026-W01'); // the Monday of that week, still in 2025
    expect(isoWeek('2025-12-28T12:00:00.000Z')).toBe('2025-W52');
  });

  it('puts the first days of a year in the last week of the year before when the Thursday is there', () => {
    // 2021-01-01 was a Friday and 2020 began on a Wednesday (leap year): 2020 has 53 weeks.
    expect(isoWeek('2021-01-03T12:00:00.000Z')).toBe('2020-W53');
    expect(isoWeek('2021-01-04T00:00:00.000Z')).toBe('2021-W01');
    expect(isoWeek('2026-12-31T10:00:00.000Z')).toBe('2026-W53');
    expect(isoWeek('2027-01-01T10:00:00.000Z')).toBe('2026-W53');
    expect(isoWeek('2027-01-03T23:59:59.000Z')).toBe('2026-W53');
    expect(isoWeek('2027-01-04T00:00:00.000Z')).toBe('2027-W01');
  });

  it('counts by UTC, not by the offset written in the timestamp', () => {
    // Monday 00:30 at +02:00 is Sunday 22:30 UTC.
    expect(isoWeek('2026-11-30T00:30:00+02:00')).toBe('2026-W48');
  });
});

describe('daily schedule', () => {
  const last = '2026-03-10T02:00:00.000Z';
  const at = Date.parse(last);

  it('owes nothing when there is no schedule', () => {
    expect(scheduledBackupDue(policy({ schedule: 'none' }), null, at)).toBe(false);
    expect(scheduledBackupDue(policy({ schedule: 'none' }), last, at + 10 * DAY_MS)).toBe(false);
  });

  it('owes a backup when none was ever taken', () => {
    expect(scheduledBackupDue(policy({ schedule: 'daily' }), null, at)).toBe(true);
  });

  it('owes the next backup 24 hours after the last, not before', () => {
    const daily = policy({ schedule: 'daily' });
    expect(scheduledBackupDue(daily, last, at + 23 * 60 * 60 * 1000)).toBe(false);
    expect(scheduledBackupDue(daily, last, at + 24 * 60 * 60 * 1000 - 1)).toBe(false);
    expect(scheduledBackupDue(daily, last, at + 24 * 60 * 60 * 1000)).toBe(true);
    expect(scheduledBackupDue(daily, last, at + 3 * DAY_MS)).toBe(true);
  });
});

describe('paths inside a backup', () => {
  it('accepts absolute plain paths', () => {
    expect(backupPathRefusal('/')).toBeNull();
    expect(backupPathRefusal('/srv/www/index.html')).toBeNull();
    expect(backupPathRefusal('/srv/www/.htaccess')).toBeNull();
    expect(backupPathRefusal('/srv/..data/a...b')).toBeNull();
    expect(backupPathRefusal(`/${'a'.repeat(4095)}`)).toBeNull(); // 4096 characters
  });

  it('refuses relative paths', () => {
    expect(backupPathRefusal('')).toBe('the path must start with /');
    expect(backupPathRefusal('srv/www')).toBe('the path must start with /');
    expect(backupPathRefusal('./srv')).toBe('the path must start with /');
  });

  it('refuses ., .. and empty parts', () => {
    const refusal = 'the path must not hold empty, . or .. parts';
    expect(backupPathRefusal('/srv/../etc/shadow')).toBe(refusal);
    expect(backupPathRefusal('/..')).toBe(refusal);
    expect(backupPathRefusal('/srv/./www')).toBe(refusal);
    expect(backupPathRefusal('/.')).toBe(refusal);
    expect(backupPathRefusal('//')).toBe(refusal);
    expect(backupPathRefusal('/srv//www')).toBe(refusal);
    expect(backupPathRefusal('/srv/www/')).toBe(refusal);
  });

  it('refuses control characters', () => {
    const refusal = 'the path holds a control character';
    expect(backupPathRefusal('/srv/a\nb')).toBe(refusal);
    expect(backupPathRefusal('/srv/a\u0000b')).toBe(refusal);
    expect(backupPathRefusal('/srv/a\tb')).toBe(refusal);
    expect(backupPathRefusal('/srv/a\u007fb')).toBe(refusal);
  });

  it('refuses paths over 4096 characters', () => {
    expect(backupPathRefusal(`/${'a'.repeat(4096)}`)).toBe('the path is too long');
    expect(backupPathRefusal(`/${'abc/'.repeat(2000)}x`)).toBe('the path is too long');
  });
});

describe('sizes', () => {
  it('turns bytes into MiB with two decimals', () => {
    expect(toMb(0)).toBe(0);
    expect(toMb(1048576)).toBe(1);
    expect(toMb(1572864)).toBe(1.5);
    expect(toMb(1234567)).toBe(1.18); // 1.17737... MiB
    expect(toMb(5 * 1024 * 1048576)).toBe(5120);
  });
});
