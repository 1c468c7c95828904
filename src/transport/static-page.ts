import { hash } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { shouldRenderGraphiQL } from 'graphql-yoga';
import { type Coding, codedEtag, encode, matchesEtag, negotiateCoding } from './content-coding.js';

// The GraphiQL page (~9 MB of HTML with the bundled editor) as a static asset: rendered once by Yoga,
// compressed once per coding (brotli ~2 MB, gzip ~2.4 MB) and kept, with a strong ETag, long-lived
// caching (a day, then revalidated) and 304 for a matching If-None-Match. Which requests get the page
// is Yoga's own rule (shouldRenderGraphiQL: a GET that accepts text/html), on the GraphQL path.

/** A day in the browser's cache, then a conditional request (304 while the page is unchanged). */
export const PAGE_CACHE_CONTROL = 'public, max-age=86400, must-revalidate';
/** The page and the JSON answers share the path: caches must key on Accept too. */
const VARY = 'Accept, Accept-Encoding';

export interface RenderedPage {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface StaticPageDeps {
  path: string;
  /** Renders the page (Yoga, through yoga.fetch); called again only after a render failed. */
  render(): Promise<RenderedPage>;
  /** Everything that is not a request for the page. */
  next: RequestListener;
  /** Serve the page compressed to clients that accept it (default true). */
  compress?: boolean;
  onError?: (error: unknown) => void;
}

interface Page {
  contentType: string;
  body: Buffer;
  etag: string;
  codings: Partial<Record<Coding, Promise<Buffer>>>;
}

export function serveStaticPage(deps: StaticPageDeps): RequestListener {
  const compress = deps.compress ?? true;
  let page: Promise<Page | undefined> | undefined;

  function load(): Promise<Page | undefined> {
    page ??= deps.render().then(
      (rendered) => {
        if (rendered.status !== 200) {
          page = undefined;
          return undefined;
        }
        const etag = `"${hash('sha256', rendered.body, 'base64url')}"`;
        return { contentType: rendered.contentType, body: rendered.body, etag, codings: {} };
      },
      (error: unknown) => {
        page = undefined;
        deps.onError?.(error);
        return undefined;
      },
    );
    return page;
  }

  async function serve(req: IncomingMessage, res: ServerResponse) {
    const current = await load();
    if (!current) {
      deps.next(req, res);
      return;
    }
    const coding = compress ? negotiateCoding(req.headers['accept-encoding']) : undefined;
    if (matchesEtag(req.headers['if-none-match'], current.etag)) {
      res.writeHead(304, {
        etag: codedEtag(current.etag, coding),
        'cache-control': PAGE_CACHE_CONTROL,
        vary: VARY,
      });
      res.end();
      return;
    }
    let body = current.body;
    if (coding) {
      current.codings[coding] ??= encode(current.body, coding);
      body = await current.codings[coding];
    }
    res.writeHead(200, {
      'content-type': current.contentType,
      'content-length': body.length,
      ...(coding ? { 'content-encoding': coding } : {}),
      etag: codedEtag(current.etag, coding),
      'cache-control': PAGE_CACHE_CONTROL,
      vary: VARY,
    });
    res.end(body);
  }

  return (req, res) => {
    if (!isPageRequest(req, deps.path)) {
      deps.next(req, res);
      return;
    }
    serve(req, res).catch((error: unknown) => {
      deps.onError?.(error);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end('Unexpected error.');
      } else res.destroy();
    });
  };
}

/** Yoga's rule for rendering GraphiQL, on the GraphQL path (with or without a query string). */
function isPageRequest(req: IncomingMessage, path: string): boolean {
  const url = req.url ?? '';
  const end = url.indexOf('?');
  const pathname = end === -1 ? url : url.slice(0, end);
  if (pathname !== path && pathname !== `${path}/`) return false;
  const accept = req.headers.accept;
  return shouldRenderGraphiQL({
    method: req.method ?? 'GET',
    headers: { get: (name: string) => (name === 'accept' ? (accept ?? null) : null) },
  } as unknown as Request);
}
