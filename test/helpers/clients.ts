import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { checkCodes } from './error-codes.js';

// Real subscription clients for tests: graphql-ws over a socket, and SSE over fetch.

export interface Received {
  data: Record<string, unknown> | null;
  errors?: unknown[];
  at: number;
}

export function wsClient(url: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Subscribes over graphql-ws; returns the events so far and a stop function. */
export function subscribeWs(client: Client, query: string, variables?: Record<string, unknown>) {
  const events: Received[] = [];
  let failure: unknown;
  const stop = client.subscribe(
    { query, variables },
    {
      next: (value) => {
        checkCodes(value, 'graphql-ws next');
        events.push({
          data: (value.data as Record<string, unknown>) ?? null,
          errors: value.errors as unknown[] | undefined,
          at: Date.now(),
        });
      },
      error: (error) => {
        // An `error` message is a list of GraphQL errors; a close event is not checked here.
        if (Array.isArray(error)) checkCodes({ errors: error }, 'graphql-ws error');
        failure = error;
      },
      complete: () => undefined,
    },
  );
  return { events, stop, failure: () => failure };
}

/** Subscribes over SSE (Yoga's "distinct connections" mode): one HTTP response streams every event. */
export function subscribeSse(url: string, query: string, variables?: Record<string, unknown>) {
  const events: Received[] = [];
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`SSE request failed with ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('\n');
        if (data) {
          const parsed = JSON.parse(data);
          checkCodes(parsed, 'SSE event');
          events.push({ data: parsed.data ?? null, errors: parsed.errors, at: Date.now() });
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch((error) => {
    if (!controller.signal.aborted) throw error;
  });
  return { events, stop: () => controller.abort(), done };
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
