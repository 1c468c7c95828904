import type { Gateway } from '../../src/server.js';
import { checkCodes } from './error-codes.js';

// Streamed answers read through yoga.fetch (no socket): SSE subscriptions and incremental delivery
// (@defer/@stream) over multipart/mixed. Each reader stops at what it was asked for, then aborts.

export interface ExecutionPayload {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  incremental?: Array<{ data?: Record<string, unknown>; items?: unknown[]; path: unknown[] }>;
  hasNext?: boolean;
}

const GRAPHQL_URL = 'http://gateway.test/graphql';

/** The first `count` `next` events of an SSE subscription (fewer if it completes first). */
export async function firstSseEvents(
  gateway: Gateway,
  request: { query: string; variables?: Record<string, unknown> },
  count: number,
  timeoutMs = 10_000,
): Promise<ExecutionPayload[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: ExecutionPayload[] = [];
  try {
    const response = await gateway.yoga.fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    let buffer = '';
    for await (const chunk of readText(response, controller.signal)) {
      buffer += chunk;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: complete/m.test(block)) return events;
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: next/m.test(block) && data) {
          const payload = JSON.parse(data) as ExecutionPayload;
          checkCodes(payload, 'SSE event');
          events.push(payload);
        }
        if (events.length >= count) return events;
        end = buffer.indexOf('\n\n');
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Every part of an incremental (multipart/mixed) answer, in arrival order. */
export async function multipartPayloads(
  gateway: Gateway,
  request: { query: string; variables?: Record<string, unknown> },
): Promise<{ contentType: string; parts: ExecutionPayload[] }> {
  const response = await gateway.yoga.fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
    body: JSON.stringify(request),
  });
  const contentType = response.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  const text = await response.text();
  const parts = boundary
    ? text
        .split(`--${boundary}`)
        .map((part) => part.slice(part.indexOf('\r\n\r\n') + 4).trim())
        .filter((body) => body.startsWith('{'))
        .map((body) => JSON.parse(body) as ExecutionPayload)
    : [JSON.parse(text) as ExecutionPayload];
  checkCodes(parts, 'multipart part');
  return { contentType, parts };
}

async function* readText(response: Response, signal: AbortSignal): AsyncGenerator<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  try {
    while (!signal.aborted) {
      const { done, value } = await reader.read();
      if (done) return;
      yield decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
