import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { type DocumentNode, GraphQLError, type Source } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { type CallerContext, hasScope, QUERY_ANY } from '../trust/caller.js';
import { documentKey, type TrustedDocuments } from '../trust/manifest.js';

// Trusted documents (README "Trusted documents"): operations sent by id — GraphQL over HTTP's
// `documentId`, or APQ's `extensions.persistedQuery.sha256Hash` — are looked up in the manifest
// (@graphql-yoga/plugin-persisted-operations puts the manifest's text in the params). In `enforce` mode
// any document whose text is not a manifest document is refused unless the caller has scope query:any.
// The refusal comes at parse, before the text is parsed, on every transport (Yoga's HTTP and SSE,
// graphql-sse's single connection and graphql-ws all parse through Envelop): a document that does not
// parse or validate must not get its syntax or validation errors back, which name the schema's fields
// ("Did you mean ...?") even with introspection off. The caller is known by then: Yoga requests were
// identified before parsing, and the other transports carry the identity in the initial context
// (`callerOf`). Execution checks again, from the built context, so nothing untrusted runs for a caller
// without the scope even on a path that did not parse here. The response cache never serves an
// untrusted document to such a caller: an answer is only stored after an execution that passed here,
// and the fast path keys answers by the caller's scope set (auth's gate, src/server.ts).

export interface TrustedDocumentOptions {
  documents: TrustedDocuments;
  mode: 'enforce' | 'allow';
  /** The caller's scopes from an operation's initial context; undefined when there is no caller. */
  callerOf: (initial: Record<string, unknown>) => { scopes: ReadonlySet<string> } | undefined;
}

const REQUIRED_MESSAGE =
  'this gateway runs only trusted documents: send a documentId from its manifest (or a key with scope query:any)';

export function useTrustedDocuments({ documents, mode, callerOf }: TrustedDocumentOptions): Plugin[] {
  /** Documents parsed from a manifest text (a cached one is the same object each time). */
  const fromManifest = new WeakSet<DocumentNode>();
  const keyOf = (id: string) => (id.startsWith('sha256:') ? id : `sha256:${id}`);

  const enforcement: Plugin<CallerContext> = {
    onParse({ context, params, setParsedDocument }) {
      if (mode !== 'enforce') return;
      if (documents.has(documentKey(textOf(params.source)))) {
        return ({ result }) => {
          if (result && !(result instanceof Error)) fromManifest.add(result as DocumentNode);
        };
      }
      if (callerOf(context as Record<string, unknown>)?.scopes.has(QUERY_ANY)) return;
      // Nothing is parsed: the parse result is the refusal. It is set again afterwards in case a plugin
      // after this one (the document cache) sets its own document.
      const refused = refusal();
      setParsedDocument(refused as unknown as DocumentNode);
      return ({ replaceParseResult }) => replaceParseResult(refused);
    },
    onExecute({ args, setResultAndStopExecution }) {
      if (mode === 'enforce' && !allowed(args.contextValue, args.document))
        setResultAndStopExecution({ errors: [refusal()] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (mode === 'enforce' && !allowed(args.contextValue, args.document))
        setResultAndStopExecution({ errors: [refusal()] });
    },
  };

  const allowed = (context: CallerContext, document: DocumentNode) =>
    fromManifest.has(document) || hasScope(context, QUERY_ANY);

  return [
    enforcement as Plugin,
    usePersistedOperations({
      // Enforcement is the plugin above, which knows the caller.
      allowArbitraryOperations: true,
      extractPersistedOperationId: (params, request) => idOf(params, request) ?? null,
      getPersistedOperation: (id) => documents.get(keyOf(id)) ?? null,
      customErrors: {
        notFound: {
          message: 'no trusted document has this id (documentId or persistedQuery.sha256Hash)',
          extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400, spec: true } },
        },
        keyNotFound: {
          message: 'send a query, or the documentId of a trusted document',
          extensions: { code: 'BAD_REQUEST', http: { status: 400, spec: true } },
        },
      },
    }) as Plugin,
  ];
}

function refusal(): GraphQLError {
  return new GraphQLError(REQUIRED_MESSAGE, {
    extensions: { code: 'TRUSTED_DOCUMENT_REQUIRED', http: { status: 403 } },
  });
}

function textOf(source: string | Source): string {
  return typeof source === 'string' ? source : source.body;
}

/** `documentId` (body, or the query string of a GET: Yoga's GET parser drops it), else the APQ hash. */
function idOf(params: GraphQLParams & { documentId?: unknown }, request: Request): string | undefined {
  if (typeof params.documentId === 'string' && params.documentId !== '') return params.documentId;
  if (request.method === 'GET') {
    const at = request.url.indexOf('?');
    const id = at < 0 ? null : new URLSearchParams(request.url.slice(at + 1)).get('documentId');
    if (id) return id;
  }
  const persisted = (
    params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined
  )?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string'
    ? persisted.sha256Hash
    : undefined;
}
