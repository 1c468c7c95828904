import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflatePrefix, gzipSpliced } from '../../src/transport/gzip-splice.js';

// A spliced gzip body must decode, with gunzip's CRC and length checks, to prefix + suffix.

describe('gzipSpliced', () => {
  it('decodes to the prefix followed by each suffix, the prefix compressed once', async () => {
    const prefix = Buffer.from(
      `{"data":{"assets":${JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ id: `asset-${i}`, value: i * 1.5 })))}},"extensions":{"cost":`,
    );
    const deflated = await deflatePrefix(prefix);
    expect(deflated.deflated.length).toBeLessThan(prefix.length / 3);
    for (const cost of [
      '{"estimate":2,"quota":{"coingecko":99}}',
      '{"estimate":2,"quota":{"coingecko":98}}',
    ]) {
      const suffix = Buffer.from(`${cost}}}`);
      const body = gzipSpliced(deflated, suffix);
      expect(gunzipSync(body).toString()).toBe(prefix.toString() + suffix.toString());
    }
  });

  it('works for an empty suffix and a prefix that repeats in the suffix', async () => {
    const prefix = Buffer.from('abcabcabc'.repeat(100));
    const deflated = await deflatePrefix(prefix);
    expect(gunzipSync(gzipSpliced(deflated, Buffer.alloc(0))).toString()).toBe(prefix.toString());
    expect(gunzipSync(gzipSpliced(deflated, Buffer.from('abcabc'))).toString()).toBe(`${prefix}abcabc`);
    // Past what one stored block holds, the suffix is compressed instead.
    const long = Buffer.from('x'.repeat(70_000));
    expect(gunzipSync(gzipSpliced(deflated, long)).toString()).toBe(`${prefix}${long}`);
  });
});
