import { afterAll, describe, expect, it } from 'vitest';
import { checkUploadedCertificate } from '../../server/domain/certificates.js';
import { TestCa } from '../helpers/certs.js';

describe('an uploaded certificate', () => {
  const ca = new TestCa();
  const other = new TestCa('Another CA');
  const leaf = ca.leaf(['shop.test', 'www.shop.test']);
  afterAll(() => {
    ca.close();
    other.close();
  });

  it('is taken with its chain, its key, and its end date when everything holds', () => {
    const ok = checkUploadedCertificate(leaf.certPem + ca.ca.certPem, leaf.keyPem, 'www.shop.test');
    expect(ok).toMatchObject({ notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((ok as { chainPem: string }).chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect((ok as { keyPem: string }).keyPem).toContain('BEGIN PRIVATE KEY');
  });

  it.each([
    ['a key that is not its own', () => checkUploadedCertificate(leaf.certPem, other.ca.keyPem, 'shop.test'), /the key does not match the certificate/],
    ['a name it does not cover', () => checkUploadedCertificate(leaf.certPem, leaf.keyPem, 'blog.shop.test'), /does not cover blog\.shop\.test \(it names DNS:shop\.test, DNS:www\.shop\.test\)/],
    ['a chain out of order', () => checkUploadedCertificate(leaf.certPem + other.ca.certPem, leaf.keyPem, 'shop.test'), /the chain is broken: certificate 1 is not signed by certificate 2/],
    ['no certificate at all', () => checkUploadedCertificate('hello', leaf.keyPem, 'shop.test'), /no PEM certificate/],
    ['a key that is not a key', () => checkUploadedCertificate(leaf.certPem, 'nope', 'shop.test'), /not a PEM private key/],
    ['one that is not valid yet', () => checkUploadedCertificate(leaf.certPem, leaf.keyPem, 'shop.test', new Date(Date.now() - 86400_000)), /not valid before/],
    ['one that has expired', () => checkUploadedCertificate(leaf.certPem, leaf.keyPem, 'shop.test', new Date(Date.now() + 30 * 86400_000)), /expired on/],
  ])('is refused, saying so, for %s', (_what, check, reason) => {
    const r = check();
    expect(r).toHaveProperty('refused');
    expect((r as { refused: string }).refused).toMatch(reason);
  });
});
