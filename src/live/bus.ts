// Where live events travel between the process that produces a topic (holds its lease) and every
// process with listeners on it. In one process the bus is a direct call; with Redis it is Yoga's Redis
// event target, so an event published once reaches every gateway process (the publisher included,
// through Redis too, so every process sees the same sequence).
// Contract: events are JSON-safe plain objects (they cross processes as JSON), listeners receive them
// in publish order per topic, all listeners of a topic in one process get the same object and must not
// mutate it, and a throwing listener never stops the others.

export type LiveEvent = object;

/** The part of Yoga's TypedEventTarget the bus uses (createRedisEventTarget returns one). */
export interface LiveEventTarget {
  addEventListener(type: string, callback: (event: CustomEvent) => void): void;
  removeEventListener(type: string, callback: (event: CustomEvent) => void): void;
  dispatchEvent(event: CustomEvent): boolean;
}

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

/**
 * A bus over a Yoga event target (e.g. `createRedisEventTarget`). Topics are prefixed with `prefix`
 * (Redis channels are global to the server, not per database). The event target is told about a topic
 * once per process; local listeners share that one subscription.
 */
export function createEventTargetBus(deps: {
  target: LiveEventTarget;
  prefix: string;
  onError?: (error: unknown) => void;
}): LiveBus {
  const local = createLocalBus({ onError: deps.onError });
  const attached = new Map<string, { count: number; listener: (event: CustomEvent) => void }>();
  return {
    publish(topic, event) {
      deps.target.dispatchEvent(new CustomEvent(deps.prefix + topic, { detail: event }));
    },
    subscribe(topic, onEvent) {
      const channel = deps.prefix + topic;
      let entry = attached.get(channel);
      if (!entry) {
        const listener = (event: CustomEvent) => {
          if (event.detail !== null && typeof event.detail === 'object') local.publish(topic, event.detail);
        };
        entry = { count: 0, listener };
        attached.set(channel, entry);
        deps.target.addEventListener(channel, listener);
      }
      entry.count += 1;
      const off = local.subscribe(topic, onEvent);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        off();
        const current = attached.get(channel);
        if (!current || --current.count > 0) return;
        attached.delete(channel);
        deps.target.removeEventListener(channel, current.listener);
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
