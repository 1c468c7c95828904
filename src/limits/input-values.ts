import {
  type ArgumentNode,
  type DocumentNode,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNullableType,
  isInputObjectType,
  isListType,
  Kind,
  TypeInfo,
  type ValidationRule,
  type ValueNode,
  type VariableDefinitionNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { quote } from '../errors.js';
import { type InputLimit, inputLimitOf } from '../schema/input-limits.js';

// Argument values checked against their InputLimit (src/schema/input-limits.ts) before anything uses
// them: literals by a validation rule, variables on their raw JSON before graphql-js coerces them (a
// million-item list is refused on its length alone, without walking it). Lists and strings with no
// declared limit get the defaults below; test/schema.test.ts keeps the schema from relying on them.

export const DEFAULT_MAX_ITEMS = 100;
export const DEFAULT_MAX_LENGTH = 256;
/** Longest number literal: graphql-js would echo an overlong one back in its error. */
const MAX_NUMBER_LITERAL = 32;

/** Where a value is checked: the field or directive, the argument, and a path into input objects. */
interface Place {
  owner: string;
  argument: string;
  path: readonly string[];
}

/** A variable used as (part of) an argument value, with what that position accepts. */
export interface VariableSite extends Place {
  name: string;
  type: GraphQLInputType;
  limit: InputLimit | undefined;
  defaultValue: ValueNode | undefined;
}

/** Refuses literal argument values beyond their limits; variables are left to checkVariables. */
export const inputLimitsRule: ValidationRule = (context) => ({
  Argument(node) {
    const def = context.getArgument();
    if (!def) return false;
    const place = placeOf(node, context.getFieldDef()?.name, context.getDirective()?.name);
    walkLiteral(node.value, def.type, inputLimitOf(def), place, (message, at, where) =>
      context.reportError(inputError(message, where, at)),
    );
    return false;
  },
});

/** Every variable position in the document, with its limit; computed once per parsed document. */
export function variableSites(schema: GraphQLSchema, document: DocumentNode): VariableSite[] {
  const sites: VariableSite[] = [];
  const defaults = new Map<string, ValueNode | undefined>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      VariableDefinition(node: VariableDefinitionNode) {
        defaults.set(node.variable.name.value, node.defaultValue);
        return false;
      },
      Argument(node) {
        const def = typeInfo.getArgument();
        if (!def) return false;
        const place = placeOf(node, typeInfo.getFieldDef()?.name, typeInfo.getDirective()?.name);
        collectVariables(node.value, def.type, inputLimitOf(def), place, sites);
        return false;
      },
    }),
  );
  for (const site of sites) site.defaultValue = defaults.get(site.name);
  return sites;
}

/** The first variable value beyond its limit, as a BAD_USER_INPUT error; undefined when all fit. */
export function checkVariables(
  sites: readonly VariableSite[],
  variables: Readonly<Record<string, unknown>>,
): GraphQLError | undefined {
  for (const site of sites) {
    let problem: GraphQLError | undefined;
    const report = (message: string, _at: unknown, where: Place) => {
      problem ??= inputError(message, where);
    };
    if (Object.hasOwn(variables, site.name))
      walkRaw(variables[site.name], site.type, site.limit, site, report);
    else if (site.defaultValue) walkLiteral(site.defaultValue, site.type, site.limit, site, report);
    if (problem) return problem;
  }
  return undefined;
}

function placeOf(node: ArgumentNode, field: string | undefined, directive: string | undefined): Place {
  return { owner: directive ? `@${directive}` : (field ?? '?'), argument: node.name.value, path: [] };
}

function inField(place: Place, name: string): Place {
  return { ...place, path: [...place.path, name] };
}

function inputError(message: string, place: Place, at?: ValueNode): GraphQLError {
  const label = `${place.owner}(${[place.argument, ...place.path].join('.')}:)`;
  return new GraphQLError(`${label} ${message}`, {
    ...(at ? { nodes: [at] } : {}),
    extensions: { code: 'BAD_USER_INPUT', argument: place.argument },
  });
}

type Report = (message: string, at: ValueNode | undefined, where: Place) => void;

function walkLiteral(
  node: ValueNode,
  type: GraphQLInputType,
  limit: InputLimit | undefined,
  place: Place,
  report: Report,
): void {
  const nullable = getNullableType(type);
  if (node.kind === Kind.VARIABLE || node.kind === Kind.NULL) return;
  if (isListType(nullable)) {
    const max = limit?.maxItems ?? DEFAULT_MAX_ITEMS;
    if (node.kind !== Kind.LIST) walkLiteral(node, nullable.ofType, limit, place, report);
    else if (node.values.length > max) report(tooMany(max, node.values.length), node, place);
    else for (const item of node.values) walkLiteral(item, nullable.ofType, limit, place, report);
    return;
  }
  if (isInputObjectType(nullable)) {
    if (node.kind !== Kind.OBJECT) return;
    const fields = nullable.getFields();
    for (const field of node.fields) {
      const def = fields[field.name.value];
      if (def)
        walkLiteral(field.value, def.type, inputLimitOf(def), inField(place, field.name.value), report);
    }
    return;
  }
  if (node.kind === Kind.STRING) {
    const problem = checkString(node.value, limit);
    if (problem) report(problem, node, place);
  } else if ((node.kind === Kind.INT || node.kind === Kind.FLOAT) && node.value.length > MAX_NUMBER_LITERAL) {
    report(
      `takes numbers of at most ${MAX_NUMBER_LITERAL} characters, got ${node.value.length}`,
      node,
      place,
    );
  }
}

function walkRaw(
  value: unknown,
  type: GraphQLInputType,
  limit: InputLimit | undefined,
  place: Place,
  report: Report,
): void {
  if (value === null || value === undefined) return;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const max = limit?.maxItems ?? DEFAULT_MAX_ITEMS;
    if (!Array.isArray(value)) walkRaw(value, nullable.ofType, limit, place, report);
    else if (value.length > max) report(tooMany(max, value.length), undefined, place);
    else for (const item of value) walkRaw(item, nullable.ofType, limit, place, report);
    return;
  }
  if (isInputObjectType(nullable)) {
    if (typeof value !== 'object' || Array.isArray(value)) return;
    const fields = nullable.getFields();
    for (const [name, field] of Object.entries(value)) {
      const def = fields[name];
      if (def) walkRaw(field, def.type, inputLimitOf(def), inField(place, name), report);
    }
    return;
  }
  if (typeof value === 'string') {
    const problem = checkString(value, limit);
    if (problem) report(problem, undefined, place);
  }
}

function collectVariables(
  node: ValueNode,
  type: GraphQLInputType,
  limit: InputLimit | undefined,
  place: Place,
  sites: VariableSite[],
): void {
  if (node.kind === Kind.VARIABLE) {
    sites.push({ ...place, name: node.name.value, type, limit, defaultValue: undefined });
    return;
  }
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const items = node.kind === Kind.LIST ? node.values : [node];
    for (const item of items) collectVariables(item, nullable.ofType, limit, place, sites);
  } else if (isInputObjectType(nullable) && node.kind === Kind.OBJECT) {
    const fields = nullable.getFields();
    for (const field of node.fields) {
      const def = fields[field.name.value];
      if (def)
        collectVariables(field.value, def.type, inputLimitOf(def), inField(place, field.name.value), sites);
    }
  }
}

function checkString(value: string, limit: InputLimit | undefined): string | undefined {
  const max = limit?.maxLength ?? DEFAULT_MAX_LENGTH;
  const fits = value.length <= max && (!limit?.pattern || limit.pattern.test(value));
  if (fits) return undefined;
  const expected = limit?.expected ?? `a string of at most ${max} characters`;
  return `takes ${expected}, got ${quote(value)}`;
}

function tooMany(max: number, got: number): string {
  return `takes at most ${max} items, got ${got}`;
}
