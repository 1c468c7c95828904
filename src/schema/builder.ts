import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import { type GraphQLSchema, isObjectType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.js';
import { badUserInput, quote } from '../errors.js';
import { inputLimit, NODE_ID } from './input-limits.js';

// The builder and its plugins; it defines no domain type (those live in ./types/, one per file).

/** Query.nodes takes as many ids as a page of assets holds. */
const MAX_NODE_IDS = 250;

export interface BuilderTypes {
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
  };
  DefaultFieldNullability: false;
}

export type Builder = PothosSchemaTypes.SchemaBuilder<PothosSchemaTypes.ExtendDefaultTypes<BuilderTypes>>;

export function createBuilder(): Builder {
  const builder = new SchemaBuilder<BuilderTypes>({
    plugins: [RelayPlugin],
    defaultFieldNullability: false,
    relay: {
      cursorType: 'String',
      // Canonical asset ids are readable slugs ('bitcoin') and stay readable as Node ids; every other
      // node type is prefixed with its type name. Slugs never contain ':', so decoding is unambiguous.
      encodeGlobalID: (typename, id) => (typename === 'Asset' ? String(id) : `${typename}:${id}`),
      decodeGlobalID: (globalID) => {
        const i = globalID.indexOf(':');
        return i < 0
          ? { typename: 'Asset', id: globalID }
          : { typename: globalID.slice(0, i), id: globalID.slice(i + 1) };
      },
      // An id naming no node type is the client's mistake (BAD_USER_INPUT), not Pothos's uncoded "Foo
      // has not been implemented". Pothos resolves nodes() for all its ids or none, so one such id
      // refuses the whole list.
      nodeQueryOptions: {
        args: { id: { extensions: inputLimit(NODE_ID) } },
        resolve: (_root, args, _ctx, info, resolveNode) => {
          if (!isNodeType(info.schema, args.id.typename)) throw unknownNode(args.id);
          return resolveNode(args.id);
        },
      },
      nodesQueryOptions: {
        args: { ids: { extensions: inputLimit(NODE_ID, { maxItems: MAX_NODE_IDS }) } },
        resolve: (_root, args, _ctx, info, resolveNodes) => {
          const unknown = args.ids.find((id) => !isNodeType(info.schema, id.typename));
          if (unknown) throw unknownNode(unknown);
          return resolveNodes(args.ids);
        },
      },
    },
  });
  builder.addScalarType('DateTime', DateTimeResolver);
  builder.queryType({});
  builder.subscriptionType({});
  return builder;
}

function isNodeType(schema: GraphQLSchema, typename: string): boolean {
  const type = schema.getType(typename);
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}

function unknownNode(id: { typename: string; id: string }) {
  const given = `${id.typename}:${id.id}`;
  return badUserInput(
    `node id ${quote(given)} names no type of this API; node ids are asset ids such as "bitcoin"`,
    'id',
  );
}
