import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

// GET /health, GET /ready and GET /metrics, answered before Yoga looks for a GraphQL request, so they
// work through yoga.fetch in tests exactly as over a socket. /health is liveness (cheap: the process
// answers); /ready is readiness (200 when the gateway can serve, 503 naming what is wrong otherwise).

export interface EndpointOptions {
  registry: Registry;
  health: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Readiness and each dependency's state; /ready answers 404 without it. */
  ready?: () => Promise<{ ready: boolean }>;
}

/**
 * A new object per response: the fetch ponyfill may keep the init object as the response's headers,
 * and later writes (content-length, x-request-id) must not leak into the next response.
 */
const jsonHeaders = () => ({ 'content-type': 'application/json', 'cache-control': 'no-store' });

export function useEndpoints({ registry, health, ready }: EndpointOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      if (url.pathname === '/health') {
        endResponse(
          new fetchAPI.Response(JSON.stringify({ status: 'ok', ...(await health()) }), {
            status: 200,
            headers: jsonHeaders(),
          }),
        );
      } else if (url.pathname === '/ready' && ready) {
        const { ready: isReady, ...report } = await ready();
        endResponse(
          new fetchAPI.Response(JSON.stringify({ status: isReady ? 'ready' : 'unready', ...report }), {
            status: isReady ? 200 : 503,
            headers: jsonHeaders(),
          }),
        );
      } else if (url.pathname === '/metrics') {
        endResponse(
          new fetchAPI.Response(await registry.metrics(), {
            status: 200,
            headers: { 'content-type': registry.contentType },
          }),
        );
      }
    },
  };
}
