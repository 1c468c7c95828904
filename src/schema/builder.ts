import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.js';
import { inputLimit, NODE_ID } from './input-limits.js';
import { decodeNodeId, encodeNodeId } from './node-id.js';
import { authScopes, unauthorizedError } from './scopes.js';

// The builder and its plugins; it defines no domain type (those live in ./types/, one per file).

/** Query.nodes takes as many ids as a page of assets holds. */
const MAX_NODE_IDS = 250;

export interface BuilderTypes {
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
  };
  DefaultFieldNullability: false;
  /** What fields may require of the caller (src/schema/scopes.ts maps them to the client's scopes). */
  AuthScopes: { subscribe: boolean; sourcesDetail: boolean; signalsLicensed: boolean };
}

export type Builder = PothosSchemaTypes.SchemaBuilder<PothosSchemaTypes.ExtendDefaultTypes<BuilderTypes>>;

/** The spec DateTime follows (graphql-scalars' DateTime: RFC 3339, always printed in UTC). */
export const DATE_TIME_SPEC = 'https://scalars.graphql.org/chillicream/date-time.html';

export function createBuilder(): Builder {
  const builder = new SchemaBuilder<BuilderTypes>({
    // Scope checks first, so no other plugin's resolver wrapping runs before them.
    plugins: [ScopeAuthPlugin, RelayPlugin],
    defaultFieldNullability: false,
    scopeAuth: {
      // A subscription without its scope is refused when it starts, not at its first event.
      authorizeOnSubscribe: true,
      authScopes,
      unauthorizedError,
    },
    relay: {
      cursorType: 'String',
      encodeGlobalID: encodeNodeId,
      decodeGlobalID: decodeNodeId,
      nodeTypeOptions: {
        description: 'An object with a stable id that node(id:) refetches.',
      },
      idFieldOptions: {
        description: 'Stable id of this object; node(id:) refetches it.',
      },
      nodeQueryOptions: {
        description:
          'Refetches one object by its id: an asset slug ("bitcoin"), or a Signal or OnChainMetric id as this API gave it. An id this API could not have issued is BAD_USER_INPUT; one that names nothing is null with NOT_FOUND.',
        args: {
          id: {
            description: 'The `id` of an Asset, Signal or OnChainMetric.',
            extensions: inputLimit(NODE_ID),
          },
        },
      },
      nodesQueryOptions: {
        nullable: { list: true, items: true },
        description:
          'Refetches several objects by id, in the order given. An id that names nothing leaves a null entry with NOT_FOUND; an id this API could not have issued fails the field with BAD_USER_INPUT.',
        args: {
          ids: {
            description: 'Ids of Assets, Signals or OnChainMetrics.',
            extensions: inputLimit(NODE_ID, { maxItems: MAX_NODE_IDS }),
          },
        },
      },
      pageInfoTypeOptions: {
        description: 'Where this page sits in the whole list, and the cursors to page on from it.',
      },
      hasNextPageFieldOptions: { description: 'True when more items follow this page.' },
      hasPreviousPageFieldOptions: { description: 'True when items come before this page.' },
      startCursorFieldOptions: {
        description: 'Cursor of the first item on this page; null for an empty page.',
      },
      endCursorFieldOptions: {
        description:
          'Cursor of the last item on this page (pass it as `after` for the next page); null for an empty page.',
      },
      edgesFieldOptions: { description: 'The items of this page, each with its cursor.' },
      pageInfoFieldOptions: { description: 'Paging state: whether more items follow, and the cursors.' },
      cursorFieldOptions: { description: 'Opaque position of this item; pass it as `after` or `before`.' },
      nodeFieldOptions: { description: 'The item.' },
      defaultConnectionTypeOptions: { description: 'One page of a list, with its paging state.' },
      defaultEdgeTypeOptions: { description: 'One item of a page, with its cursor.' },
      firstArgOptions: { description: 'Page size, counting forward from `after` (or from the start).' },
      afterArgOptions: {
        description: 'Cursor to page forward from: an `endCursor` or edge `cursor` this field returned.',
      },
      lastArgOptions: { description: 'Page size, counting backward from `before` (or from the end).' },
      beforeArgOptions: {
        description: 'Cursor to page backward from: a `startCursor` or edge `cursor` this field returned.',
      },
    },
  });
  builder.addScalarType('DateTime', DateTimeResolver, {
    description:
      'An instant as an RFC 3339 date-time string. Always sent in UTC with milliseconds, e.g. 2026-09-01T00:00:00.000Z; accepted with any offset, e.g. 2026-09-01T02:00:00+02:00.',
    specifiedByURL: DATE_TIME_SPEC,
  });
  builder.queryType({
    description: 'Reads: assets, prices, candles, signals, on-chain metrics and provider status.',
  });
  builder.subscriptionType({
    description:
      'Live updates over SSE or graphql-ws: each starts with the current values, then sends changes.',
  });
  return builder;
}
