import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

// GET /health and GET /metrics, answered before Yoga looks for a GraphQL request, so they work through
// yoga.fetch in tests exactly as over a socket.

export interface EndpointOptions {
  registry: Registry;
  health: () => Promise<Record<string, unknown>> | Record<string, unknown>;
}

export function useEndpoints({ registry, health }: EndpointOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      if (url.pathname === '/health') {
        endResponse(
          new fetchAPI.Response(JSON.stringify({ status: 'ok', ...(await health()) }), {
            status: 200,
            headers: { 'content-type': 'application/json' },
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
