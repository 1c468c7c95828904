import { describe, expect, it } from 'vitest';
import { spawnGateway } from '../../scripts/lib/gateway-process.js';

// Tracing is off unless an OTLP endpoint is configured, and off costs nothing: the gateway process
// (src/main.ts, as `npm start` runs it) serves queries that call providers with every import of the
// OpenTelemetry SDK and Envelop's plugin refused (fixtures/refuse-otel-sdk.mjs). The same process with
// OTEL_EXPORTER_OTLP_ENDPOINT set fails to start, which shows the hook does refuse them.

const REFUSE_SDK = ['--import', './test/telemetry/fixtures/refuse-otel-sdk.mjs'];
const ARGS = ['--profile', 'sandbox', '--port', '0'];

describe('tracing off by default', () => {
  it('serves without loading the OpenTelemetry SDK when no OTLP endpoint is set', async () => {
    const gateway = await spawnGateway({ args: ARGS, nodeFlags: REFUSE_SDK, readyTimeoutMs: 30_000 });
    try {
      const res = await gateway.query<{ asset: { price: { value: number } } }>(
        '{ asset(id: "ethereum") { price(currency: USD) { value } } }',
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.asset.price.value).toBeGreaterThan(0);
      expect(gateway.output()).not.toContain('refused to load');
    } finally {
      await gateway.stop();
    }
  });

  it('loads it at start when OTEL_EXPORTER_OTLP_ENDPOINT is set (the refusal above is real)', async () => {
    const failed = spawnGateway({
      args: ARGS,
      nodeFlags: REFUSE_SDK,
      // Nothing listens there: the process must fail on the refused import, before any export.
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      readyTimeoutMs: 30_000,
    });
    await expect(failed).rejects.toThrow(
      /exited with 1 before it was ready[\s\S]*refused to load (@opentelemetry|@envelop)\//,
    );
  });
});
