import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../server/http/log-redaction.js';
import { createInvite } from '../../server/services/sessions.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

/** Secrets in URLs (one-time invite links) never reach the request log. */
describe('the request log', () => {
  let panel: TestPanel;
  let logFile: string;
  let inviteToken: string;

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-log-'));
    logFile = path.join(dataDir, 'panel.log');
    panel = await startTestPanel({ dataDir, env: { KURA_LOG_LEVEL: 'info', KURA_LOG_FILE: logFile } });
    const customer = await panel.api('POST', '/customers', { name: 'C', email: 'invited@example.com' });
    inviteToken = createInvite(panel.ctx, customer.body.id);
  });
  afterAll(async () => panel?.close());

  it('keeps the request but not the invite token, even inside another parameter', async () => {
    const page = await panel.app.inject({ method: 'GET', url: `/invite/${inviteToken}` });
    expect(page.statusCode).toBe(200);
    await panel.app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(`/invite/${inviteToken}`)}` });
    await panel.app.inject({ method: 'GET', url: `/healthz?token=${inviteToken}` });
    // Closing flushes the log; the panel's own close at the end is then a no-op for the app.
    await panel.app.close();
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
