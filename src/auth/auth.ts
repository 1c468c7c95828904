import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { streamOpened, useClientBudgets } from '../plugins/use-client-budgets.js';
import { type ClientIdentity, useClientIdentity } from '../plugins/use-client-identity.js';
import type { RedisConnection } from '../redis.js';
import type { RequestGate } from '../transport/fast-path.js';
import {
  type BudgetSnapshot,
  type ChargeOutcome,
  type ClientBudgets,
  createClientBudgets,
} from './budgets.js';
import type { Client } from './client.js';
import { addressOfRequest, clientAddress, compileProxyTrust } from './client-address.js';
import { chargeError, type HttpRefusal, httpRefusal, refusalError } from './errors.js';
import { createIdentifier, type Identifier, type IdentifyOutcome, type Identity } from './identify.js';
import { createJwtVerifier } from './jwt.js';
import { createKeyStore, type KeyStore } from './key-store.js';
import { type ClientBudgetView, RequestAuth } from './request-auth.js';
import { createSubscriptionSlots } from './subscription-slots.js';

// Client auth as the gateway wires it: identity (keys file, JWT), per-client budgets, the response
// cache's gate, the Yoga plugins and graphql-ws's connection check. README "Clients and keys".

export interface Auth {
  identifier: Identifier;
  budgets: ClientBudgets;
  keys: KeyStore;
  /**
   * The caller's address (src/auth/client-address.ts, MARKETGRAPH_TRUST_PROXY): of a request over a
   * socket (`req`), or of an in-process one (`request` only).
   */
  addressOf(req: IncomingMessage | undefined, request?: Request): string;
  /** Before the response-cache lookup: identifies the caller and charges one request. */
  gate: RequestGate;
  /** Before parsing (Yoga's onRequestParse): identifies the caller. */
  identityPlugin: Plugin;
  /** Whether a peer address is a trusted proxy (MARKETGRAPH_TRUST_PROXY): it speaks for many clients. */
  isTrustedProxy(address: string): boolean;
  /** The budget left of the caller the gate admitted (for a stored answer's extensions.cost). */
  budgetFor(req: IncomingMessage): BudgetSnapshot | undefined;
  /** At execution start, after the cost plugins: charges the request and its cost. */
  budgetsPlugin: Plugin;
  /** What the context gets: the client and its budget view; {} with auth off. */
  contextFor(initial: { request?: Request; identity?: unknown }): {
    client?: Client;
    clientBudget?: ClientBudgetView;
  };
  /** graphql-sse's single-connection requests (Yoga's request hooks do not run for them). */
  identifyRequest(
    request: Request,
    address: string,
  ): Promise<{ identity: Identity } | { refuse: HttpRefusal }>;
  /** graphql-ws: the identity of a connection, from its connection_init payload or upgrade headers. */
  connect(
    request: IncomingMessage,
    payload: Record<string, unknown> | undefined,
  ): Promise<{ identity: Identity } | { refuse: string }>;
  /** For useSharedSubscriptionResults' onStream: frees the stream's subscription slot when it ends. */
  streamOpened(contextValue: unknown): () => void;
  /**
   * The caller of an operation from its initial context, before its context is built (HTTP and SSE
   * requests were identified before parsing; graphql-ws and graphql-sse single-connection operations
   * carry `identity`); undefined with auth off.
   */
  clientOf(initial: { request?: unknown; identity?: unknown }): Client | undefined;
  /** The caller's scope set as a key ('' for none or with auth off). */
  scopeKeyOf(contextValue: unknown): string;
  /** Re-reads the keys file (SIGHUP). */
  reload(): Promise<boolean>;
  close(): void;
}

export function createAuth(deps: {
  config: Config;
  redis?: RedisConnection;
  /** The clock of the subscription slots' leases (tests move it). */
  now?: () => number;
  onLog?: (level: 'info' | 'warn', line: string) => void;
}): Auth {
  const { config, redis } = deps;
  const settings = config.auth;
  const keys = createKeyStore({
    path: settings.keysFile,
    onReloadFailed: (reason) => deps.onLog?.('warn', reason),
    onReloaded: (count) => deps.onLog?.('info', `keys file reloaded: ${count} keys`),
  });
  if (settings.mode === 'required' && !settings.keysFile && !settings.jwt) {
    deps.onLog?.(
      'warn',
      'MARKETGRAPH_AUTH is required but neither MARKETGRAPH_API_KEYS_FILE nor MARKETGRAPH_JWT_JWKS_URL is set: every request will be refused with 401',
    );
  }
  const identifier = createIdentifier({
    mode: settings.mode,
    keys,
    jwt: settings.jwt ? createJwtVerifier(settings.jwt) : undefined,
    anonymous: settings.anonymous,
  });
  const budgets = createClientBudgets({
    store: redis && {
      redis: redis.commands,
      keyPrefix: config.redis.prefix,
      timeoutMs: config.redis.timeoutMs,
      available: redis.up,
      onLate: redis.reportLate,
    },
    slots: createSubscriptionSlots({
      store: redis && { run: redis.run, keyPrefix: config.redis.prefix },
      now: deps.now,
    }),
  });
  const trust = compileProxyTrust(settings.trustProxy);
  const addressOf = (req: IncomingMessage | undefined, request?: Request) =>
    addressOfRequest(req, request, trust);
  const identity: ClientIdentity = useClientIdentity(identifier, addressOf);

  const gate: RequestGate = {
    name: 'client',
    check(req) {
      const outcome = identifier.identify(
        {
          authorization: req.headers.authorization,
          apiKey: headerValue(req.headers['x-api-key']),
        },
        clientAddress({ socketAddress: req.socket.remoteAddress, headers: req.headers }, trust),
      );
      return outcome instanceof Promise ? outcome.then((o) => admit(req, o)) : admit(req, outcome);
    },
  };

  // Synchronous unless the client's request budget must be asked (src/auth/budgets.ts, leases), so a
  // response-cache hit usually passes the gate without a promise.
  function admit(req: IncomingMessage, outcome: IdentifyOutcome) {
    if ('refuse' in outcome) return { reject: httpRefusal(refusalError(outcome.refuse)) };
    const auth = new RequestAuth(outcome);
    if (!outcome.client) return admitted(req, auth, outcome);
    const charged = budgets.chargeRequest(outcome.client);
    return charged instanceof Promise
      ? charged.then((c) => settle(req, auth, outcome, c))
      : settle(req, auth, outcome, charged);
  }

  function settle(req: IncomingMessage, auth: RequestAuth, outcome: IdentifyOutcome, charged: ChargeOutcome) {
    if ('snapshot' in charged) auth.snapshot = charged.snapshot;
    if (!charged.ok) return { reject: httpRefusal(chargeError(charged)) };
    auth.requestCharged = true;
    return admitted(req, auth, outcome);
  }

  function admitted(req: IncomingMessage, auth: RequestAuth, outcome: IdentifyOutcome) {
    identity.gated.set(req, auth);
    if ('refuse' in outcome) return {};
    // Answers differ by scope set; everyone without a credential has the same one, so theirs are public.
    if (outcome.client?.kind === 'anonymous') return { scope: 'anonymous', shared: true };
    return outcome.client ? { scope: `scopes:${outcome.scopeKey}` } : {};
  }

  return {
    identifier,
    budgets,
    keys,
    addressOf,
    gate,
    identityPlugin: identity.plugin,
    isTrustedProxy: (address) => trust?.(address, 0) ?? false,
    budgetFor: (req) => identity.gated.get(req)?.remaining(),
    budgetsPlugin: useClientBudgets(budgets),
    contextFor(initial) {
      const auth = identity.of(initial);
      return auth ? { client: auth.identity.client, clientBudget: auth } : {};
    },
    async identifyRequest(request, address) {
      const outcome = await identifier.identify(
        {
          authorization: request.headers.get('authorization') ?? undefined,
          apiKey: request.headers.get('x-api-key') ?? undefined,
        },
        address,
      );
      return 'refuse' in outcome
        ? { refuse: httpRefusal(refusalError(outcome.refuse)) }
        : { identity: outcome };
    },
    async connect(request, payload) {
      const fromPayload =
        payload && (payload.authorization !== undefined || payload['x-api-key'] !== undefined);
      const credentials = fromPayload
        ? { authorization: stringOrEmpty(payload.authorization), apiKey: stringOrEmpty(payload['x-api-key']) }
        : { authorization: request.headers.authorization, apiKey: headerValue(request.headers['x-api-key']) };
      const address = clientAddress(
        { socketAddress: request.socket.remoteAddress, headers: request.headers },
        trust,
      );
      const outcome = await identifier.identify(credentials, address);
      return 'refuse' in outcome
        ? { refuse: `${outcome.refuse.code}: ${outcome.refuse.message}` }
        : { identity: outcome };
    },
    clientOf: (initial) => identity.clientOf(initial),
    streamOpened,
    scopeKeyOf(contextValue) {
      const auth = (contextValue as { clientBudget?: unknown } | undefined)?.clientBudget;
      return auth instanceof RequestAuth ? auth.identity.scopeKey : '';
    },
    reload: () => keys.reload(),
    close() {
      keys.close();
      budgets.close();
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A connection_init value that is not a string is a wrong credential, not an absent one. */
function stringOrEmpty(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : 'not-a-string';
}
