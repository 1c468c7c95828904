import { describe, expect, it } from 'vitest';
import { isValidRequestId, MAX_REQUEST_ID_LENGTH, resolveRequestId } from '../src/request-id.js';

describe('request ids', () => {
  it('keeps ids made of the usual id characters, up to the length limit', () => {
    for (const id of [
      '4bf92f3577b34da6a3ce929d0e0e4736',
      '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331',
      'Root=1-5759e988-bd862e3fe1be46a994272793',
      'req_01HZX3.abc:def/ghi+jkl~mno',
      'x'.repeat(MAX_REQUEST_ID_LENGTH),
    ]) {
      expect(isValidRequestId(id), id).toBe(true);
      expect(resolveRequestId(id, () => 'new')).toBe(id);
    }
  });

  it('replaces a missing, empty, too long or oddly spelled id', () => {
    for (const given of [
      undefined,
      null,
      '',
      'x'.repeat(MAX_REQUEST_ID_LENGTH + 1),
      'a b',
      'a"b',
      'a\nb',
      'é',
      '<script>',
    ]) {
      expect(
        resolveRequestId(given, () => 'new'),
        String(given),
      ).toBe('new');
    }
    expect(resolveRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
