import type { Redis } from 'ioredis';

// Where live events travel between the process that produces a topic (holds its lease) and every
// process with listeners on it. In one process the bus is a direct call; with Redis it is Redis
// pub/sub, so an event published once reaches every gateway process (the publisher included, through
// Redis too, so every process sees the same sequence).
// Contract: events are JSON-safe plain objects (they cross processes as JSON), listeners receive them
// in publish order per topic, all listeners of a topic in one process get the same object and must not
// mutate it, and a throwing listener never stops the others.

export type LiveEvent = object;

export interface LiveBus {
  publish(topic: string, event: LiveEvent): void;
  /** Starts delivering `topic`'s events to `onEvent`; returns the (idempotent) unsubscribe. */
  subscribe(topic: string, onEvent: (event: LiveEvent) => void): () => void;
}

export function createLocalBus(deps: { onError?: (error: unknown) => void } = {}): LiveBus {
  const topics = new Map<string, Set<(event: LiveEvent) => void>>();
  return {
    publish(topic, event) {
      const listeners = topics.get(topic);
      if (listeners) deliver(listeners, event, deps.onError);
    },
    subscribe(topic, onEvent) {
      let listeners = topics.get(topic);
      if (!listeners) {
        listeners = new Set();
        topics.set(topic, listeners);
      }
      const own = listeners;
      // A function can subscribe twice; wrap it so each subscription is its own entry.
      const entry = (event: LiveEvent) => onEvent(event);
      own.add(entry);
      return () => {
        own.delete(entry);
        if (own.size === 0 && topics.get(topic) === own) topics.delete(topic);
      };
    },
  };
}

export interface RedisBusDeps {
  /** Publishes (shared with other commands). */
  publisher: Redis;
  /** Subscribed to this process's channels; used for nothing else. */
  subscriber: Redis;
  /** Channel prefix (Redis channels are server-wide, not per database). */
  prefix: string;
  /** True while Redis can carry events both ways (both connections ready). */
  up(): boolean;
  onError?: (error: unknown) => void;
}

/**
 * A bus over Redis pub/sub that degrades to in-process delivery. While `up()`, events go through Redis;
 * otherwise (and when a publish fails) they are delivered to this process's listeners directly, so a
 * process that lost Redis keeps serving its own subscribers from the producers it runs itself (see
 * leases.ts). Channels are subscribed once per process and resubscribed whenever the subscriber
 * connection is ready again. Around a change of state a listener may miss or see twice the events of
 * one Redis round trip.
 */
export function createRedisBus(deps: RedisBusDeps): LiveBus {
  const local = createLocalBus({ onError: deps.onError });
  /** Local subscriptions per channel. */
  const channels = new Map<string, number>();
  const report = (error: unknown) => deps.onError?.(error);

  deps.subscriber.on('message', (channel: string, message: string) => {
    if (!channels.has(channel)) return;
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch (error) {
      report(error);
      return;
    }
    if (event !== null && typeof event === 'object') local.publish(channel.slice(deps.prefix.length), event);
  });
  deps.subscriber.on('ready', () => {
    if (channels.size > 0) deps.subscriber.subscribe(...channels.keys()).catch(report);
  });
  const ready = () => deps.subscriber.status === 'ready';

  return {
    publish(topic, event) {
      if (!deps.up()) {
        local.publish(topic, event);
        return;
      }
      deps.publisher.publish(deps.prefix + topic, JSON.stringify(event)).catch((error: unknown) => {
        report(error);
        local.publish(topic, event);
      });
    },
    subscribe(topic, onEvent) {
      const channel = deps.prefix + topic;
      const count = channels.get(channel) ?? 0;
      channels.set(channel, count + 1);
      if (count === 0 && ready()) deps.subscriber.subscribe(channel).catch(report);
      const off = local.subscribe(topic, onEvent);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        off();
        const left = (channels.get(channel) ?? 1) - 1;
        if (left > 0) {
          channels.set(channel, left);
          return;
        }
        channels.delete(channel);
        if (ready()) deps.subscriber.unsubscribe(channel).catch(report);
      };
    },
  };
}

function deliver(
  listeners: Set<(event: LiveEvent) => void>,
  event: LiveEvent,
  onError: ((error: unknown) => void) | undefined,
) {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      onError?.(error);
    }
  }
}
