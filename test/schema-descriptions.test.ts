import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { DATE_TIME_SPEC } from '../src/schema/builder.js';
import { buildSchema } from '../src/schema/index.js';

// Every element a client can see carries a description (the Docs panel is the API's manual). graphql's
// own introspection types and built-in scalars are graphql's business, not ours.

/** Schema coordinates (Type, Type.field, Type.field(arg:), Enum.VALUE, Input.field) without a description. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const check = (coordinate: string, element: { description?: string | null }) => {
    if (!element.description?.trim()) missing.push(coordinate);
  };
  for (const type of Object.values(schema.getTypeMap()) as GraphQLNamedType[]) {
    if (isIntrospectionType(type) || (isScalarType(type) && isSpecifiedScalarType(type))) continue;
    check(type.name, type);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
        check(`${type.name}.${field.name}`, field);
        for (const arg of field.args as GraphQLArgument[])
          check(`${type.name}.${field.name}(${arg.name}:)`, arg);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()) as GraphQLInputField[]) {
        check(`${type.name}.${field.name}`, field);
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value);
    }
  }
  return missing;
}

describe('schema descriptions', () => {
  it('describes every type, field, argument, input field and enum value', () => {
    expect(undescribed(buildSchema())).toEqual([]);
  });

  it('names what it skips: an element without a description is reported by its coordinate', async () => {
    const { buildSchema: fromSdl } = await import('graphql');
    const sdl = `
      """Described."""
      type Query {
        """Described."""
        a(x: Int): E
        b: String
      }
      """Described."""
      enum E { """Described.""" ONE TWO }
      input I { f: Int }
      scalar S
    `;
    expect(undescribed(fromSdl(sdl)).sort()).toEqual(['E.TWO', 'I', 'I.f', 'Query.a(x:)', 'Query.b', 'S']);
  });

  it('gives every custom scalar a specifiedByURL', () => {
    const schema = buildSchema();
    const custom = Object.values(schema.getTypeMap()).filter(
      (t) => isScalarType(t) && !isSpecifiedScalarType(t),
    );
    expect(custom.map((t) => t.name)).toContain('DateTime');
    for (const scalar of custom) {
      expect(isScalarType(scalar) && scalar.specifiedByURL, scalar.name).toMatch(/^https:\/\//);
    }
    expect(schema.getType('DateTime')).toMatchObject({ specifiedByURL: DATE_TIME_SPEC });
  });
});
