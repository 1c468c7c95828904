// The streams of graphql-sse's single-connection mode as this gateway sees them, kept beside the
// handler's own table (which it neither bounds nor expires, and which it keeps private): who reserved
// each token, and whether its event stream is open. A reservation is bounded per caller and in total,
// and one not opened within `reserveMs` is dropped (the handler's entry with it, see `drop` in
// use-graphql-sse.ts).

export interface SseStreamsOptions {
  /** Streams (reserved or open) one caller may hold. */
  maxPerCaller: number;
  /** Streams (reserved or open) the gateway holds. */
  maxTotal: number;
  /** A reservation not opened within this is dropped. */
  reserveMs: number;
  now: () => number;
  /** Called for each reservation dropped unopened (to drop the handler's entry too). */
  onExpired: (token: string) => void;
}

interface Entry {
  caller: string;
  reservedAt: number;
  open: boolean;
}

export type ReserveRefusal = 'caller' | 'total';

export function createSseStreams(options: SseStreamsOptions) {
  const entries = new Map<string, Entry>();
  const perCaller = new Map<string, number>();

  const remove = (token: string) => {
    const entry = entries.get(token);
    if (!entry) return;
    entries.delete(token);
    const held = (perCaller.get(entry.caller) ?? 1) - 1;
    if (held > 0) perCaller.set(entry.caller, held);
    else perCaller.delete(entry.caller);
  };

  /** Drops reservations older than reserveMs that were never opened (Map order is reservation order). */
  const sweep = () => {
    const cutoff = options.now() - options.reserveMs;
    for (const [token, entry] of entries) {
      if (entry.open || entry.reservedAt > cutoff) continue;
      remove(token);
      options.onExpired(token);
    }
  };

  return {
    sweep,
    /** Whether `caller` may reserve one more stream, else which bound refuses it. */
    refusal(caller: string): ReserveRefusal | undefined {
      sweep();
      if ((perCaller.get(caller) ?? 0) >= options.maxPerCaller) return 'caller';
      if (entries.size >= options.maxTotal) return 'total';
      return undefined;
    },
    reserved(token: string, caller: string) {
      if (entries.has(token)) return;
      entries.set(token, { caller, reservedAt: options.now(), open: false });
      perCaller.set(caller, (perCaller.get(caller) ?? 0) + 1);
    },
    /** 'open', 'reserved', or undefined for a token that names no stream (never, or no longer). */
    state(token: string): 'open' | 'reserved' | undefined {
      sweep();
      const entry = entries.get(token);
      return entry ? (entry.open ? 'open' : 'reserved') : undefined;
    },
    /** Whether `caller` reserved the stream: a token is no capability for anyone else. */
    ownedBy(token: string, caller: string): boolean {
      return entries.get(token)?.caller === caller;
    },
    opened(token: string) {
      const entry = entries.get(token);
      if (entry) entry.open = true;
    },
    closed: remove,
    size: () => entries.size,
  };
}

export type SseStreams = ReturnType<typeof createSseStreams>;
