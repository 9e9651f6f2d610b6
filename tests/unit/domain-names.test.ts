import { describe, expect, it } from 'vitest';
import { challengeName, parseDomainName } from '../../server/domain/domain-names.js';

describe('customer domain names', () => {
  it('keep the name as entered and give its IDNA form', () => {
    expect(parseDomainName('例え.jp', undefined)).toEqual({ name: '例え.jp', asciiName: 'xn--r8jz45g.jp' });
    expect(parseDomainName(' WWW.Their-Shop.JP. ', undefined)).toEqual({ name: 'WWW.Their-Shop.JP', asciiName: 'www.their-shop.jp' });
    expect(parseDomainName('straße.de', undefined)).toEqual({ name: 'straße.de', asciiName: 'xn--strae-oqa.de' });
    expect(challengeName('xn--r8jz45g.jp')).toBe('_kura-challenge.xn--r8jz45g.jp');
  });

  it.each([
    ['', /empty/],
    ['1.2.3.4', /IP address/],
    ['[::1]', /IP address/],
    ['shop', /single label/],
    ['localhost', /single label|local name/],
    ['db.localhost', /local name/],
    ['*.example.com', /wildcard/],
    ['ex ample.com', /not a valid domain name/],
    ['a..b.com', /not a valid label/],
    ['-bad.com', /not a valid label/],
    ['a_b.com', /not a valid label/],
    ['xn--zz.com', /not a valid domain name/],
    [`${'a'.repeat(64)}.com`, /not a valid label/],
    [`${'abcdefghi.'.repeat(26)}com`, /longer than DNS allows/],
    ['shop-abc.sites.example', /under sites\.example/],
    ['SITES.example', /under sites\.example/],
  ])('refuse %j', (input, reason) => {
    const r = parseDomainName(input, 'sites.example');
    expect(r).toHaveProperty('refused');
    expect((r as { refused: string }).refused).toMatch(reason);
  });
});
