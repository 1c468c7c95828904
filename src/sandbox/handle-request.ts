import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  compilePath,
  type Dialect,
  JSON_CONTENT_TYPE,
  type SandboxRequest,
  type SandboxResponse,
} from './dialect.js';
import type { Fault, FaultRegistry } from './faults.js';
import type { Quotas } from './quotas.js';
import type { RequestLog } from './request-log.js';

// One provider's REST requests: route to the dialect, apply an injected fault or the quota in place of
// the answer, count the request, and write the answer the way the provider frames it.

export interface RequestHandlerDeps {
  dialect: Dialect;
  faults: FaultRegistry;
  quotas: Quotas;
  log: RequestLog;
}

export function createRequestHandler(deps: RequestHandlerDeps) {
  const { dialect, faults, quotas, log } = deps;
  const routes = dialect.routes.map((route) => ({ route, match: compilePath(route.path) }));

  function route(request: SandboxRequest) {
    for (const { route, match } of routes) {
      const params = match(request.url.pathname);
      if (params) return { route, params };
    }
    return undefined;
  }

  /** The answer when no fault cuts the request short: quota, then injected error, then the dialect. */
  function answer(
    request: SandboxRequest,
    endpoint: string,
    hit: ReturnType<typeof route>,
    fault: Fault | undefined,
  ): SandboxResponse {
    const limited = quotas.enforce(dialect, request, endpoint);
    if (limited) return limited;
    if (fault?.kind === 'rate-limit') return dialect.rateLimited(fault.retryAfter ?? 60);
    if (fault?.kind === 'server-error') return dialect.serverError(fault.status ?? 503);
    if (fault?.kind === 'html') return htmlErrorPage(fault.status ?? 502);
    if (fault?.kind === 'malformed-json')
      return { status: 200, text: '{"data": [1, 2', contentType: 'application/json' };
    if (!hit) return dialect.notFound(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') return dialect.notFound(request);
    try {
      return hit.route.handle(request);
    } catch (error) {
      console.error(`sandbox ${dialect.provider} ${endpoint} failed:`, error);
      return dialect.serverError(500);
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // 'down' also refuses requests on keep-alive connections opened before it was set; otherwise a
    // pooled client would keep being served by a provider that is supposed to be unreachable.
    if (faults.isDown(dialect.provider)) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://sandbox');
    let request: SandboxRequest = { method: req.method ?? 'GET', url, headers: req.headers, params: {} };
    const hit = route(request);
    if (hit) request = { ...request, params: hit.params };
    const endpoint = hit?.route.endpoint ?? 'unknown';
    // An endpoint that is down is unreachable like a provider that is: no answer, the socket reset
    // (the provider's other endpoints keep answering on other connections).
    if (faults.isDown(dialect.provider, endpoint)) {
      req.socket.destroy();
      return;
    }
    const fault = faults.take(dialect.provider, endpoint);
    if (fault?.kind === 'latency') await sleep(fault.latencyMs ?? 1000);
    if (fault?.kind === 'hang') {
      log.record(dialect.provider, endpoint, 0);
      return; // the socket stays open until the client gives up or the sandbox closes
    }
    if (fault?.kind === 'reset') {
      log.record(dialect.provider, endpoint, 0);
      req.socket.destroy();
      return;
    }
    const response = answer(request, endpoint, hit, fault);
    dialect.decorate?.(request, response, quotas.used(dialect.provider));
    const status = response.status ?? 200;
    log.record(dialect.provider, endpoint, status);
    write(res, request, response, status);
  };
}

function write(res: ServerResponse, request: SandboxRequest, response: SandboxResponse, status: number) {
  const body = response.json !== undefined ? JSON.stringify(response.json) : (response.text ?? '');
  const contentType =
    response.json !== undefined ? JSON_CONTENT_TYPE : (response.contentType ?? 'text/plain');
  res.writeHead(status, { 'content-type': contentType, ...response.headers });
  res.end(request.method === 'HEAD' ? undefined : body);
}

function htmlErrorPage(status: number): SandboxResponse {
  return {
    status,
    contentType: 'text/html',
    text: `<html>\r\n<head><title>${status} Error</title></head>\r\n<body>\r\n<center><h1>${status} Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
