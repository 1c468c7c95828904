import {
  type GraphQLArgument,
  type GraphQLInputField,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/schema/index.js';
import { inputLimitOf } from '../../src/schema/input-limits.js';

// Every list argument declares how many items it takes, and every string-like argument (String, ID,
// DateTime) how long and of which characters, so no argument falls back on the generic defaults.
// Connection cursors (after/before) are the exception: Pothos creates them, the resolvers decode them.

const CURSORS = new Set(['after', 'before']);

function inputs(): Array<{ where: string; def: GraphQLArgument | GraphQLInputField }> {
  const schema = buildSchema();
  const found: Array<{ where: string; def: GraphQLArgument | GraphQLInputField }> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        for (const arg of field.args)
          found.push({ where: `${type.name}.${field.name}(${arg.name}:)`, def: arg });
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        found.push({ where: `${type.name}.${field.name}`, def: field });
    }
  }
  return found;
}

describe('input limits in the schema', () => {
  it('finds the arguments it checks', () => {
    expect(inputs().map((i) => i.where)).toEqual(
      expect.arrayContaining(['Query.nodes(ids:)', 'Query.asset(id:)', 'ContractInput.address']),
    );
  });

  it('every list argument has maxItems', () => {
    const missing = inputs()
      .filter(({ def }) => isListType(getNullableType(def.type)) && !inputLimitOf(def)?.maxItems)
      .map((i) => i.where);
    expect(missing).toEqual([]);
  });

  it('every String, ID and DateTime argument has maxLength, and String and ID a pattern', () => {
    const missing = inputs()
      .filter(({ def }) => {
        const name = getNamedType(def.type).name;
        if (!['String', 'ID', 'DateTime'].includes(name) || CURSORS.has(def.name)) return false;
        const limit = inputLimitOf(def);
        return !limit?.maxLength || (name !== 'DateTime' && !limit.pattern);
      })
      .map((i) => i.where);
    expect(missing).toEqual([]);
  });
});
