import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';

// A gzip body made of a long part compressed once and a short part compressed per response: the
// long part is raw DEFLATE ended with a sync flush (byte-aligned, and the blocks after it may be any
// valid blocks), the short part a DEFLATE stream of its own, whose back-references stay inside it, so
// the two concatenate into one valid stream; CRC-32 continues over both (zlib.crc32's running value).
// The short part goes as a final *stored* block (RFC 1951 §3.2.4: header, LEN, NLEN, the bytes), so a
// response costs a CRC over it and no compressor at all; it is a few hundred bytes.
// The result is one ordinary gzip member. Used for stored answers whose last bytes (extensions.cost)
// differ on every hit (src/transport/fast-path.ts).

export interface DeflatedPrefix {
  /** Raw DEFLATE of the prefix, sync-flushed, without a final block. */
  deflated: Buffer;
  crc: number;
  length: number;
}

const deflateRawAsync = promisify(deflateRaw);
/** ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS unknown. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** A stored block holds at most this many bytes. */
const MAX_STORED = 0xffff;

/** The final DEFLATE block holding `bytes` as they are (the stream before it is byte-aligned). */
function storedBlock(bytes: Buffer): Buffer {
  const block = Buffer.allocUnsafe(5 + bytes.length);
  // BFINAL = 1, BTYPE = 00 (stored); the rest of the byte is padding.
  block[0] = 0x01;
  block.writeUInt16LE(bytes.length, 1);
  block.writeUInt16LE(~bytes.length & 0xffff, 3);
  bytes.copy(block, 5);
  return block;
}

export async function deflatePrefix(prefix: Buffer): Promise<DeflatedPrefix> {
  const deflated = await deflateRawAsync(prefix, { level: 6, finishFlush: constants.Z_SYNC_FLUSH });
  return { deflated, crc: crc32(prefix), length: prefix.length };
}

/** A gzip member whose content is the prefix followed by `suffix`, in pieces to write in turn. */
export function gzipSplicedParts(prefix: DeflatedPrefix, suffix: Buffer): Buffer[] {
  const tail = suffix.length <= MAX_STORED ? storedBlock(suffix) : deflateRawSync(suffix, { level: 1 });
  const trailer = Buffer.allocUnsafe(8);
  // zlib.crc32 of an empty buffer answers 0, not the running value.
  const crc = suffix.length === 0 ? prefix.crc : crc32(suffix, prefix.crc);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((prefix.length + suffix.length) >>> 0, 4);
  return [HEADER, prefix.deflated, tail, trailer];
}

/** The same, as one buffer. */
export function gzipSpliced(prefix: DeflatedPrefix, suffix: Buffer): Buffer {
  return Buffer.concat(gzipSplicedParts(prefix, suffix));
}
