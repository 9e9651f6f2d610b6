import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { redactUrl } from '../../server/http/log-redaction.js';
import { createInvite } from '../../server/services/sessions.js';

/** Secrets in URLs (one-time invite links) never reach the request log. */
describe('the request log', () => {
  let dataDir: string;
  let logFile: string;
  let app: FastifyInstance;
  let inviteToken: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-log-'));
    logFile = path.join(dataDir, 'panel.log');
    const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_LOG_LEVEL: 'info', KURA_LOG_FILE: logFile,
      KURA_ADMIN_TOKEN: 'test-admin-token-0123456789', KURA_IMAGE_CACHE: path.join(dataDir, 'images') });
    const built = await buildApp({ config, background: false });
    app = built.app;
    await app.ready();
    const customer = await app.inject({ method: 'POST', url: '/api/v1/customers', headers: { authorization: 'Bearer test-admin-token-0123456789' },
      payload: { name: 'C', email: 'invited@example.com' } });
    inviteToken = createInvite(built.ctx, JSON.parse(customer.body).id);
  });
  afterAll(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the request but not the invite token, even inside another parameter', async () => {
    const page = await app.inject({ method: 'GET', url: `/invite/${inviteToken}` });
    expect(page.statusCode).toBe(200);
    await app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(`/invite/${inviteToken}`)}` });
    await app.inject({ method: 'GET', url: `/healthz?token=${inviteToken}` });
    await app.close();
    // The log is written asynchronously: wait until all three requests are in it.
    const urls = () => fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { req?: { url: string } })
      .flatMap((l) => (l.req ? [l.req.url] : []));
    await expect.poll(() => urls().filter((u) => !u.startsWith('/api/')).length).toBe(3);
    expect(urls()).toContain('/invite/[redacted]');
    expect(urls()).toContain('/login?next=%2Finvite%2F[redacted]');
    expect(urls()).toContain('/healthz?token=[redacted]');
    expect(fs.readFileSync(logFile, 'utf8')).not.toContain(inviteToken);
  });
});

describe('redactUrl', () => {
  it.each([
    ['/invite/abc', '/invite/[redacted]'],
    ['/invite/abc?x=1', '/invite/[redacted]?x=1'],
    ['/login?next=%2Finvite%2Fabc&lang=ja', '/login?next=%2Finvite%2F[redacted]&lang=ja'],
    ['/x?Token=t&keep=1&password=p', '/x?Token=[redacted]&keep=1&password=[redacted]'],
    ['/panel/environments/env_1?tail=100', '/panel/environments/env_1?tail=100'],
  ])('%s -> %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
