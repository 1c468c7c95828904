import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { type DocumentNode, GraphQLError, print } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { type CallerContext, hasScope, type Identify, QUERY_ANY } from '../trust/caller.js';
import { documentKey, type TrustedDocuments } from '../trust/manifest.js';

// Trusted documents (README "Trusted documents"): operations sent by id — GraphQL over HTTP's
// `documentId`, or APQ's `extensions.persistedQuery.sha256Hash` — are looked up in the manifest
// (@graphql-yoga/plugin-persisted-operations does the lookup). In `enforce` mode any other document is
// refused unless the caller has scope query:any; a document sent as text whose hash is in the manifest
// counts as trusted. The check runs at onParams when the caller is known by then, and again before
// execution for the rest (graphql-ws does not pass onParams; auth may establish the caller later), so
// nothing untrusted executes for a caller without the scope. The response cache never serves an
// untrusted document to such a caller: an answer is only stored after an execution that passed here,
// and the fast path keys answers for query:any callers apart (trustedDocumentsGate, src/server.ts).

export interface TrustedDocumentOptions {
  documents: TrustedDocuments;
  mode: 'enforce' | 'allow';
  /** Test seam until src/auth/ (see src/trust/caller.ts). */
  identify?: Identify;
}

const REQUIRED_MESSAGE =
  'this gateway runs only trusted documents: send a documentId from its manifest (or a key with scope query:any)';

export function useTrustedDocuments({ documents, mode, identify }: TrustedDocumentOptions): Plugin[] {
  const trusted = new WeakSet<object>();
  const trustedDocument = new WeakMap<DocumentNode, boolean>();
  const keyOf = (id: string) => (id.startsWith('sha256:') ? id : `sha256:${id}`);

  /** True or false when the caller is known at this point; undefined when not yet. */
  const mayAnything = (context: CallerContext, request?: Request): boolean | undefined => {
    if (context.client) return hasScope(context, QUERY_ANY);
    if (identify && request) return identify(request)?.scopes.has(QUERY_ANY) ?? false;
    return undefined;
  };

  const enforcement: Plugin<CallerContext> = {
    onParams({ params, request, context }) {
      if (mode !== 'enforce') return;
      if (idOf(params, request) !== undefined && !params.query) {
        trusted.add(context);
        return;
      }
      if (typeof params.query === 'string' && documents.has(documentKey(params.query))) {
        trusted.add(context);
        return;
      }
      const may = mayAnything(context, request);
      if (may === false) throw refusal();
      if (may) trusted.add(context);
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

  function allowed(context: CallerContext & { request?: Request }, document: DocumentNode): boolean {
    if (trusted.has(context) || hasScope(context, QUERY_ANY)) return true;
    if (identify && context.request && identify(context.request)?.scopes.has(QUERY_ANY)) return true;
    // graphql-ws: the text never passed onParams; codegen's manifest holds printed documents.
    let known = trustedDocument.get(document);
    if (known === undefined) {
      known = documents.has(documentKey(print(document)));
      trustedDocument.set(document, known);
    }
    return known;
  }

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
