import type { FastifyInstance } from 'fastify';

const STRINGS = {
  en: {
    title: 'Kura', tagline: 'Quota-enforced customer environments on Docker nodes.',
    apiHeading: 'Provisioning API', docs: 'Interactive API documentation', health: 'Health',
  },
  ja: {
    title: 'Kura', tagline: 'Docker ノード上の、クォータで守られたお客様ごとの環境。',
    apiHeading: 'プロビジョニング API', docs: 'API ドキュメント（対話式）', health: 'ヘルスチェック',
  },
} as const;
type Lang = keyof typeof STRINGS;

/** Picks Japanese or English from ?lang=, then Accept-Language. */
export function pickLanguage(query: string | undefined, acceptLanguage: string | undefined): Lang {
  if (query === 'ja' || query === 'en') return query;
  const ranked = (acceptLanguage ?? '').split(',').map((part) => {
    const [tag, q] = part.trim().split(';q=');
    return { tag: (tag ?? '').toLowerCase(), q: q === undefined ? 1 : Number(q) };
  }).sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    if (tag.startsWith('ja')) return 'ja';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

/** The panel's front page: where the API and its documentation are. */
export function registerHome(app: FastifyInstance): void {
  app.get<{ Querystring: { lang?: string } }>('/', { schema: { hide: true } }, async (request, reply) => {
    const lang = pickLanguage(request.query.lang, request.headers['accept-language']);
    const other = lang === 'ja' ? { code: 'en', label: 'English' } : { code: 'ja', label: '日本語' };
    return reply.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'")
      .view('pages/home.hbs', { lang, title: STRINGS[lang].title, t: STRINGS[lang], other });
  });
}
