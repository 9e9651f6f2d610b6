import { describe, expect, it } from 'vitest';
import { auditBody } from '../../server/services/audit.js';

describe('what the audit log keeps of a request body', () => {
  it('leaves out passwords, their confirmation, tokens, keys, certificates and the CSRF token', () => {
    const kept = auditBody({
      name: 'web', email: 'a@b.example', password: 'secret-1', confirm: 'secret-1', current: 'old-secret', _csrf: 'x',
      tls: { ca: 'PEM', cert: 'PEM', key: 'PEM' }, token: 'kura_abc', adminToken: 't', cpus: 2,
    });
    expect(JSON.parse(kept!)).toEqual({ name: 'web', email: 'a@b.example', cpus: 2 });
    expect(kept).not.toMatch(/secret|PEM|kura_abc/);
  });

  it('shortens long strings and keeps nothing of a body that is not an object', () => {
    expect(JSON.parse(auditBody({ description: 'x'.repeat(500) })!).description).toHaveLength(201);
    expect(auditBody(undefined)).toBeNull();
    expect(auditBody(['a'])).toBeNull();
    expect(auditBody({ password: 'only-a-secret' })).toBeNull();
  });
});
