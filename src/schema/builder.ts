import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.js';

// The builder and its plugins; it defines no domain type (those live in ./types/, one per file).

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
    },
  });
  builder.addScalarType('DateTime', DateTimeResolver);
  builder.queryType({});
  builder.subscriptionType({});
  return builder;
}
