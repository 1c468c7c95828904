import { type Context, MessageType, validateMessage } from 'graphql-ws';

// graphql-ws closes the whole socket (4400) on a `subscribe` whose payload it will not take (no string
// `query`, `variables` or `extensions` not an object, `operationName` not a string, no payload at
// all), ending the socket's other subscriptions. Such a message with a usable id is one operation's
// mistake: it is answered on that id with an `error` message instead, before graphql-ws sees it. What the
// library judges is its own exported `validateMessage`, so an upgrade that takes more or less is
// followed; only what breaks the protocol itself still reaches it and closes the socket as it does: a
// message that is not JSON, a subscribe without a non-empty string id, one before connection_ack, and
// one reusing the id of an operation in flight. test/gateway/sockets.test.ts pins both halves.

export const MALFORMED_SUBSCRIBE =
  "malformed subscribe payload: it needs a string 'query'; 'variables' and 'extensions' objects and 'operationName' a string when sent";

/** The `error` frame answering `text` when it is such a subscribe; undefined for graphql-ws to handle. */
export function malformedSubscribeAnswer(
  text: string,
  ctx: Pick<Context, 'acknowledged' | 'subscriptions'> | undefined,
): string | undefined {
  if (!ctx?.acknowledged) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, id } = message as { type?: unknown; id?: unknown };
  if (type !== MessageType.Subscribe || typeof id !== 'string' || id === '' || id in ctx.subscriptions)
    return undefined;
  try {
    validateMessage(message);
    return undefined;
  } catch {
    return JSON.stringify({
      id,
      type: MessageType.Error,
      payload: [{ message: MALFORMED_SUBSCRIBE, extensions: { code: 'BAD_REQUEST' } }],
    });
  }
}
