import type { LiveBus, LiveEvent } from './bus.js';
import type { Leases } from './leases.js';

// A channel is one live topic ('price:bitcoin', 'onchain:bitcoin:FEE_FASTEST', ...) with local
// listeners and, somewhere, one producer. The first local listener of a topic subscribes this process
// to it on the bus and claims its lease; whichever process holds the lease runs the producer, which
// publishes on the bus. The last local listener to leave unsubscribes and gives the lease up (stopping
// the producer here; another process that still listens takes it over). So however many subscribers
// and processes there are, each topic has one upstream stream or poller.

/** Starts producing a topic's events through `emit`; returns the stop function. */
export type Producer = (emit: (event: LiveEvent) => void) => () => void;

export interface ChannelStats {
  /** Topics with local listeners. */
  topics: string[];
  listeners: number;
  /** Topics this process produces (holds the lease of). */
  producing: string[];
}

export interface Channels {
  /**
   * Adds a listener to `topic`; `produce` is used if this process ends up producing the topic (every
   * joiner of a topic must pass an equivalent producer). Returns the (idempotent) leave function.
   */
  join(topic: string, produce: Producer, onEvent: (event: LiveEvent) => void): () => void;
  stats(): ChannelStats;
  close(): Promise<void>;
}

interface Channel {
  listeners: number;
  release: () => void;
  stop?: () => void;
}

export function createChannels(deps: {
  bus: LiveBus;
  leases: Leases;
  onError?: (error: unknown, topic: string) => void;
}): Channels {
  const channels = new Map<string, Channel>();
  let closed = false;

  function open(topic: string, produce: Producer): Channel {
    const channel: Channel = { listeners: 0, release: () => {} };
    channels.set(topic, channel);
    channel.release = deps.leases.claim(topic, {
      acquired: () => {
        try {
          channel.stop = produce((event) => deps.bus.publish(topic, event));
        } catch (error) {
          deps.onError?.(error, topic);
        }
      },
      lost: () => {
        const stop = channel.stop;
        channel.stop = undefined;
        try {
          stop?.();
        } catch (error) {
          deps.onError?.(error, topic);
        }
      },
    });
    return channel;
  }

  return {
    join(topic, produce, onEvent) {
      if (closed) throw new Error('channels: join() after close()');
      const channel = channels.get(topic) ?? open(topic, produce);
      channel.listeners += 1;
      // Subscribe each listener on the bus (it fans out locally); the lease is per channel.
      const unsubscribe = deps.bus.subscribe(topic, onEvent);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        unsubscribe();
        channel.listeners -= 1;
        if (channel.listeners > 0 || channels.get(topic) !== channel) return;
        channels.delete(topic);
        channel.release();
      };
    },
    stats() {
      let listeners = 0;
      const producing: string[] = [];
      for (const [topic, channel] of channels) {
        listeners += channel.listeners;
        if (channel.stop) producing.push(topic);
      }
      return { topics: [...channels.keys()], listeners, producing };
    },
    async close() {
      closed = true;
      for (const channel of channels.values()) channel.release();
      channels.clear();
    },
  };
}
