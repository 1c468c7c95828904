import {
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  typeFromAST,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
} from 'graphql';

// A tool's JSON input schema from its operation's variable definitions: GraphQL scalars, enums, lists
// and input objects become their JSON Schema counterparts, a non-null variable without a default is
// required, and each variable is described by the schema's description of the argument it is passed to.

export type JsonSchema = {
  type?: string | string[];
  description?: string;
  enum?: string[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  minProperties?: number;
  maxProperties?: number;
  format?: string;
  default?: unknown;
};

const SCALARS: Record<string, JsonSchema> = {
  ID: { type: 'string' },
  String: { type: 'string' },
  Int: { type: 'integer' },
  Float: { type: 'number' },
  Boolean: { type: 'boolean' },
  DateTime: { type: 'string', format: 'date-time' },
};

export function inputSchema(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): JsonSchema & { type: 'object'; properties: Record<string, JsonSchema> } {
  const argumentOf = variableArguments(schema, operation);
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type as never) as GraphQLInputType | undefined;
    if (!type) throw new Error(`$${name}: unknown type`);
    const property = typeSchema(type);
    const description = argumentOf.get(name)?.description ?? undefined;
    if (description) property.description = description;
    if (definition.defaultValue) property.default = valueFromASTUntyped(definition.defaultValue);
    else if (definition.type.kind === Kind.NON_NULL_TYPE) required.push(name);
    properties[name] = property;
  }
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function typeSchema(type: GraphQLInputType): JsonSchema {
  if (isNonNullType(type)) return typeSchema(type.ofType);
  if (isListType(type)) return { type: 'array', items: typeSchema(type.ofType) };
  if (isEnumType(type)) {
    const values = type.getValues();
    const lines = values.filter((v) => v.description).map((v) => `${v.name}: ${v.description}`);
    return {
      type: 'string',
      enum: values.map((v) => v.name),
      ...(lines.length ? { description: lines.join('\n') } : {}),
    };
  }
  if (isInputObjectType(type)) {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const field of Object.values(type.getFields())) {
      properties[field.name] = {
        ...typeSchema(field.type),
        ...(field.description ? { description: field.description } : {}),
      };
      if (isNonNullType(field.type) && field.defaultValue === undefined) required.push(field.name);
    }
    return {
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      additionalProperties: false,
      ...(type.isOneOf ? { minProperties: 1, maxProperties: 1 } : {}),
      ...(type.description ? { description: type.description } : {}),
    };
  }
  if (isScalarType(type))
    return {
      ...(SCALARS[type.name] ?? {}),
      ...(type.description && !SCALARS[type.name] ? { description: type.description } : {}),
    };
  return {};
}

/**
 * Each variable → the description of the first place it is passed to: a field argument, or a field of
 * an input object (`asset(by: { id: $id })`).
 */
function variableArguments(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): Map<string, { description?: string | null }> {
  const found = new Map<string, { description?: string | null }>();
  const typeInfo = new TypeInfo(schema);
  visit(
    operation,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const argument = typeInfo.getArgument();
        if (argument && node.value.kind === Kind.VARIABLE && !found.has(node.value.name.value))
          found.set(node.value.name.value, argument);
      },
      ObjectField(node) {
        if (node.value.kind !== Kind.VARIABLE || found.has(node.value.name.value)) return;
        const parent = getNamedType(typeInfo.getParentInputType());
        const field = isInputObjectType(parent) ? parent.getFields()[node.name.value] : undefined;
        if (field) found.set(node.value.name.value, field);
      },
    }),
  );
  return found;
}
