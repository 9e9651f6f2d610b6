import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

describe('favicon', () => {
  let panel: TestPanel;
  beforeAll(async () => { panel = await startTestPanel(); });
  afterAll(async () => panel.close());

  /** The icon a page links, and the img-src its Content-Security-Policy allows. */
  async function linkedIcon(url: string): Promise<{ href: string; imgSrc: string[] }> {
    const page = await panel.app.inject(url);
    expect(page.statusCode, url).toBe(200);
    const href = /<link rel="icon" href="([^"]+)"/.exec(page.body)?.[1];
    expect(href, `${url} links no icon`).toBeDefined();
    const csp = String(page.headers['content-security-policy']);
    const imgSrc = /(?:^|; )img-src ([^;]+)/.exec(csp)?.[1]?.split(' ') ?? [];
    return { href: href!, imgSrc };
  }

  it('is linked by the pages with a same-origin path their Content-Security-Policy allows', async () => {
    const { href, imgSrc } = await linkedIcon('/login');
    // A same-origin path, which the policy's 'self' covers.
    expect(href).toMatch(/^\/[^/]/);
    expect(imgSrc).toContain("'self'");
  });

  it('answers the linked icon and /favicon.ico with an image, without a session cookie', async () => {
    const { href } = await linkedIcon('/login');
    for (const url of [href, '/favicon.ico']) {
      const res = await panel.app.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^image\//);
      expect(res.body, url).toContain('<svg');
      // The web panel's session lookup sets the CSRF cookie on a first visit; assets skip it.
      expect(res.headers['set-cookie'], url).toBeUndefined();
    }
  });
});
