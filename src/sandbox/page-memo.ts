import { JSON_CONTENT_TYPE, type SandboxRequest, type SandboxResponse } from './dialect.js';

// Serialized answers of a dialect's hot endpoints, reused until the market's clock enters the next
// tick. A page of market rows costs thousands of price samples to compute (24 h highs and lows), and a
// cold gateway benchmark asks for the same few URLs hundreds of times a second: without this the
// sandbox, not the gateway, would set the pace. A reused answer is the one the first request of the
// tick got, byte for byte (its timestamps included), so within a tick the sandbox behaves like a
// provider serving from its own cache, which the real ones do for longer. Only wrap handlers whose
// answer depends on nothing but the URL and the market's time: the key is the path and query string.

export interface PageMemoOptions {
  /** The market's clock, ms since the epoch. */
  now: () => number;
  /** Tick length, ms: an answer is served again until floor(now / tickMs) changes. */
  tickMs: number;
  /** Distinct URLs remembered within one tick; past it the oldest is forgotten. */
  maxEntries?: number;
}

export type Handler = (request: SandboxRequest) => SandboxResponse;

export interface PageMemo {
  /** `handle`, computed once per URL per tick; every call gets its own copy of the response object. */
  wrap(handle: Handler): Handler;
  /** Answers remembered for the current tick. */
  size(): number;
}

interface Page {
  status: number | undefined;
  headers: Record<string, string> | undefined;
  text: string;
  contentType: string | undefined;
}

export function createPageMemo(options: PageMemoOptions): PageMemo {
  if (!(options.tickMs > 0)) throw new RangeError(`page memo: tickMs must be > 0, got ${options.tickMs}`);
  const maxEntries = options.maxEntries ?? 256;
  let tick = Number.NaN;
  const pages = new Map<string, Page>();

  function currentPages(): Map<string, Page> {
    const now = Math.floor(options.now() / options.tickMs);
    if (now !== tick) {
      pages.clear();
      tick = now;
    }
    return pages;
  }

  return {
    wrap(handle) {
      return (request) => {
        const memo = currentPages();
        const key = `${request.url.pathname}${request.url.search}`;
        let page = memo.get(key);
        if (!page) {
          page = serialize(handle(request));
          if (memo.size >= maxEntries) memo.delete(memo.keys().next().value!);
          memo.set(key, page);
        }
        return {
          status: page.status,
          headers: page.headers && { ...page.headers },
          text: page.text,
          contentType: page.contentType,
        };
      };
    },
    size: () => currentPages().size,
  };
}

/** The response as the shell would write it, JSON already stringified. */
function serialize(response: SandboxResponse): Page {
  const json = response.json !== undefined;
  return {
    status: response.status,
    headers: response.headers && { ...response.headers },
    text: json ? JSON.stringify(response.json) : (response.text ?? ''),
    contentType: json ? JSON_CONTENT_TYPE : response.contentType,
  };
}
