import type { Config } from '../config.js';

// Which browser origins get CORS headers (MARKETGRAPH_CORS_ORIGINS; in the sandbox profile without it,
// any http://localhost, 127.0.0.1 or [::1] origin). A listed origin is echoed with credentials; `*`
// echoes any origin without credentials (never `*` with credentials); any other origin gets no CORS
// headers at all, so browsers keep its scripts from reading answers. Same-origin pages need none.

export type CorsOptions = { origin: string[]; credentials: boolean } | false;

const LOCALHOST = /^http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

/** Whether an origin is one the allow-list names (exactly, or as a localhost origin where allowed). */
export function listedOrigin(frontDoor: Config['frontDoor']): (origin: string) => boolean {
  const listed = new Set(frontDoor.corsOrigins);
  return (origin) => listed.has(origin) || (frontDoor.corsLocalhost && LOCALHOST.test(origin));
}

/**
 * Whether a browser page of this origin may call an endpoint that has no CORS of its own to protect it
 * (MCP's Streamable HTTP, which the MCP spec asks servers to guard against DNS rebinding): a listed
 * origin, or any when the list says `*`.
 */
export function originAllowed(frontDoor: Config['frontDoor']): (origin: string) => boolean {
  const listed = listedOrigin(frontDoor);
  const any = frontDoor.corsOrigins.includes('*');
  return (origin) => any || listed(origin);
}

export function corsPolicy(frontDoor: Config['frontDoor']): (request: Request) => CorsOptions {
  const isListed = listedOrigin(frontDoor);
  const any = frontDoor.corsOrigins.includes('*');
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin) return false;
    const known = isListed(origin);
    if (!known && !any) return false;
    // Two entries, so that Yoga's CORS plugin echoes the origin and adds Vary: Origin.
    return { origin: [origin, origin], credentials: known };
  };
}
