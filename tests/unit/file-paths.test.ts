import { describe, expect, it } from 'vitest';
import { apiPath, badName, crumbs, parentOf, sftpPath } from '../../server/domain/file-paths.js';
import { parseListing } from '../../server/services/environment-files.js';

const ok = (path: string) => ({ path });

describe('file paths', () => {
  it('keeps API paths relative to the data folder and refuses what leaves it', () => {
    expect(apiPath(undefined)).toEqual(ok(''));
    expect(apiPath('')).toEqual(ok(''));
    expect(apiPath('./site//img/./a.png')).toEqual(ok('site/img/a.png'));
    expect(apiPath('site/../index.html')).toEqual(ok('index.html'));
    expect(apiPath('/etc/passwd')).toHaveProperty('refused', expect.stringContaining('absolute'));
    expect(apiPath('..')).toHaveProperty('refused', expect.stringContaining('outside'));
    expect(apiPath('a/../../etc')).toHaveProperty('refused', expect.stringContaining('outside'));
  });

  it('sees the data folder as / over SFTP, as a chroot does', () => {
    expect(sftpPath('/')).toEqual(ok(''));
    expect(sftpPath('.')).toEqual(ok(''));
    expect(sftpPath('/../../etc/passwd')).toEqual(ok('etc/passwd'));
    expect(sftpPath('/img/../index.html')).toEqual(ok('index.html'));
  });

  it('refuses control characters and overlong names, quoting them safely', () => {
    const r = apiPath('bad\nname');
    expect(r).toHaveProperty('refused');
    expect((r as { refused: string }).refused).toContain('\\x0a');
    expect(badName('a'.repeat(256))).toMatch(/255 bytes/);
    expect(badName('ファイル.txt')).toBeNull();
    expect(apiPath(`${'a/'.repeat(2100)}b`)).toHaveProperty('refused', expect.stringContaining('longer'));
  });

  it('names parents and breadcrumbs', () => {
    expect(parentOf('a/b/c.txt')).toBe('a/b');
    expect(parentOf('c.txt')).toBe('');
    expect(crumbs('a/b')).toEqual([{ name: '', path: '' }, { name: 'a', path: 'a' }, { name: 'b', path: 'a/b' }]);
  });
});

describe('folder listings from the container', () => {
  it('reads stat lines, folders first, and a name holding a newline', () => {
    const out = ['81a4 12 1700000000 z.txt', '41ed 4096 1700000001 site', 'a1ff 11 1700000002 link', '81a4 3 1700000003 two', 'lines', ''].join('\n');
    expect(parseListing(out)).toEqual([
      { name: 'site', type: 'dir', size: 4096, mode: 0o755, modifiedAt: '2023-11-14T22:13:21.000Z' },
      { name: 'link', type: 'link', size: 11, mode: 0o777, modifiedAt: '2023-11-14T22:13:22.000Z' },
      { name: 'two\nlines', type: 'file', size: 3, mode: 0o644, modifiedAt: '2023-11-14T22:13:23.000Z' },
      { name: 'z.txt', type: 'file', size: 12, mode: 0o644, modifiedAt: '2023-11-14T22:13:20.000Z' },
    ]);
  });

  it('ignores what is not a listing (a hostile tool\'s output cannot make entries out of nothing)', () => {
    expect(parseListing('garbage\nmore garbage\n')).toEqual([]);
  });
});
