import type { Config } from '../config.js';

// Which browser origins get CORS headers (MARKETGRAPH_CORS_ORIGINS; in the sandbox profile without it,
// any http://localhost, 127.0.0.1 or [::1] origin). A listed origin is echoed with credentials; `*`
// echoes any origin without credentials (never `*` with credentials); any other origin gets no CORS
// headers at all, so browsers keep its scripts from reading answers. Same-origin pages need none.

export type CorsOptions = { origin: string[]; credentials: boolean } | false;

const LOCALHOST = /^http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

export function corsPolicy(frontDoor: Config['frontDoor']): (request: Request) => CorsOptions {
  const listed = new Set(frontDoor.corsOrigins);
  const any = listed.has('*');
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin) return false;
    const known = listed.has(origin) || (frontDoor.corsLocalhost && LOCALHOST.test(origin));
    if (!known && !any) return false;
    // Two entries, so that Yoga's CORS plugin echoes the origin and adds Vary: Origin.
    return { origin: [origin, origin], credentials: known };
  };
}
