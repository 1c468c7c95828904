import { describe, expect, it } from 'vitest';
import {
  codedEtag,
  isCompressible,
  matchesEtag,
  negotiateCoding,
} from '../../src/transport/content-coding.js';

// Negotiation (leaning on negotiator's positional `preferred` argument: brotli wins a tie), which media
// types are compressed, and the coded validators.

describe('negotiateCoding', () => {
  it.each([
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate', 'gzip'],
    ['br;q=0.5, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['deflate', undefined],
    ['identity', undefined],
    ['*', 'br'],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %s', (header, coding) => {
    expect(negotiateCoding(header)).toBe(coding);
  });
});

describe('isCompressible', () => {
  it('takes JSON and text, never event streams or multipart', () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/graphql-response+json',
      'text/html',
      'text/plain; version=0.0.4',
    ]) {
      expect(isCompressible(type)).toBe(true);
    }
    for (const type of ['text/event-stream', 'multipart/mixed; boundary="-"', 'image/png', undefined]) {
      expect(isCompressible(type)).toBe(false);
    }
  });
});

describe('coded ETags', () => {
  it('gives each coding its own validator and matches any of them', () => {
    const etag = '"abc"';
    expect(codedEtag(etag, 'br')).toBe('"abc-br"');
    expect(codedEtag(etag, undefined)).toBe(etag);
    for (const header of ['"abc"', '"abc-gzip"', 'W/"abc-br"', '"x", "abc-br"', '*']) {
      expect(matchesEtag(header, etag)).toBe(true);
    }
    for (const header of ['"abcd"', '"abc-deflate"', undefined])
      expect(matchesEtag(header, etag)).toBe(false);
  });
});
