import type { TestPanel } from './panel.js';

/** A browser-like client for the web panel over inject: it keeps cookies and sends the form's CSRF token. */
export class WebClient {
  cookies = new Map<string, string>();

  /** `remoteAddress`: the client address the panel sees (inject sends no traffic; 127.0.0.1 unless given). */
  constructor(private readonly panel: TestPanel, private readonly remoteAddress?: string) {}

  private get from() {
    return this.remoteAddress ? { remoteAddress: this.remoteAddress } : {};
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string, headers: Record<string, string> = {}) {
    const res = await this.panel.app.inject({ url, headers: { cookie: this.cookieHeader, ...headers }, ...this.from });
    this.keep(res.headers['set-cookie']);
    return res;
  }

  /** Posts a form; `_csrf` is taken from the last page unless given. */
  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams({ _csrf: this.csrf ?? '', ...fields }).toString();
    const res = await this.panel.app.inject({ method: 'POST', url, payload: body,
      headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded', ...headers }, ...this.from });
    this.keep(res.headers['set-cookie']);
    return res;
  }

  csrf: string | undefined;

  /** Opens the login page (for its CSRF token) and logs in; returns the login answer. */
  async login(email: string, password: string) {
    await this.page('/login');
    return this.post('/login', { email, password });
  }

  /** GET a page and remember its CSRF token. */
  async page(url: string) {
    const res = await this.get(url);
    const m = /name="csrf-token" content="([^"]+)"/.exec(res.body);
    if (m) this.csrf = m[1];
    return res;
  }

  private keep(setCookie: string | string[] | undefined): void {
    for (const c of [setCookie ?? []].flat()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}
