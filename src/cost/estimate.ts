import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Args, CostTable } from './upstream-cost.js';

// Walks one operation the way execution would (fragments expanded, @skip/@include applied, fields
// with the same response key merged), carrying how many objects of each parent type the answer can
// hold, and adds up the upstream calls the cost table gives each field. The field count comes first
// and is worked out per fragment once; past `maxNodes` nothing is walked, so a document of nested
// fragments cannot make the walk itself expensive.

export interface CostEstimate {
  /** Upstream calls the operation can cause, cold cache. */
  calls: number;
  /**
   * Field selections with every fragment spread expanded where it is written (a spread repeated in one
   * selection set counts each time, though execution expands it once); past maxNodes nothing is costed.
   */
  nodes: number;
}

/** Field selections with fragments expanded, each fragment's size worked out once (no exponential walk). */
export function countFields(
  set: SelectionSetNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  sizes = new Map<string, number>(),
): number {
  let n = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      n += 1 + (selection.selectionSet ? countFields(selection.selectionSet, fragments, sizes) : 0);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      n += countFields(selection.selectionSet, fragments, sizes);
    } else {
      const name = selection.name.value;
      let size = sizes.get(name);
      if (size === undefined) {
        const fragment = fragments[name];
        // Validation refused cycles; mark it first anyway so a cycle cannot recurse.
        sizes.set(name, 0);
        size = fragment ? countFields(fragment.selectionSet, fragments, sizes) : 0;
        sizes.set(name, size);
      }
      n += size;
    }
  }
  return n;
}

export function estimateCost(args: {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  variables: Record<string, unknown>;
  table: CostTable;
  maxNodes: number;
}): CostEstimate {
  const { schema, fragments, variables, table, maxNodes } = args;
  const expanded = countFields(args.operation.selectionSet, fragments);
  if (expanded > maxNodes) return { calls: 0, nodes: expanded };
  let nodes = 0;
  let calls = 0;

  const included = (node: { directives?: FieldNode['directives'] }) => {
    if (!node.directives?.length) return true;
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  };

  /** Fields by response key, fragments expanded; every field node counts towards maxNodes. */
  const collect = (
    sets: readonly SelectionSetNode[],
    into = new Map<string, FieldNode[]>(),
    seen = new Set<string>(),
  ) => {
    for (const set of sets) {
      for (const selection of set.selections) {
        if (nodes > maxNodes) return into;
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          nodes++;
          const key = selection.alias?.value ?? selection.name.value;
          const list = into.get(key);
          if (list) list.push(selection);
          else into.set(key, [selection]);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          collect([selection.selectionSet], into, seen);
        } else {
          const name = selection.name.value;
          const fragment = fragments[name];
          // As in execution, a fragment spread twice in one selection set is expanded once there.
          if (!fragment || seen.has(name)) continue;
          seen.add(name);
          collect([fragment.selectionSet], into, seen);
        }
      }
    }
    return into;
  };

  const fieldOf = (type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined =>
    isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;

  /**
   * Fields of abstract types are looked up on every possible type (a Node's `... on Asset { price }`),
   * so a field a fragment selects on a concrete type is costed as that type's field.
   */
  const typesOf = (type: GraphQLNamedType): GraphQLNamedType[] =>
    isObjectType(type) ? [type] : isCompositeType(type) ? [type, ...schema.getPossibleTypes(type)] : [];

  const walk = (sets: readonly SelectionSetNode[], parentType: GraphQLNamedType, parents: number) => {
    for (const [, fieldNodes] of collect(sets)) {
      if (nodes > maxNodes) return;
      const first = fieldNodes[0]!;
      const name = first.name.value;
      const candidates = typesOf(parentType).filter((t) => fieldOf(t, name));
      // Introspection and __typename: no upstream work.
      if (candidates.length === 0) continue;
      let childType: GraphQLNamedType | undefined;
      let items = 1;
      let own = 0;
      for (const type of candidates) {
        const field = fieldOf(type, name)!;
        childType ??= getNamedType(field.type);
        const cost = table.get(`${type.name}.${name}`);
        if (!cost) continue;
        const values = argumentValues(field, first, variables);
        own = Math.max(own, cost.calls(values, parents));
        items = Math.max(items, cost.items?.(values) ?? 1);
      }
      calls += own;
      const children = fieldNodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
      if (children.length > 0 && childType) walk(children, childType, parents * items);
    }
  };

  const root =
    args.operation.operation === 'query'
      ? schema.getQueryType()
      : args.operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (root) walk([args.operation.selectionSet], root, 1);
  return { calls, nodes: expanded };
}

function argumentValues(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Args {
  try {
    return getArgumentValues(field, node, variables);
  } catch {
    // Invalid arguments were refused by validation or variable coercion; their defaults cost the field.
    return {};
  }
}
