import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import {
  buildSchema,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
} from 'graphql';

// The breaking-change check (docs/schema-evolution.md). graphql-inspector lists the changes between
// the released schema (the baseline) and the current one and rates each; this module applies our
// policy on top: a BREAKING change passes only when the element it removes or changes was deprecated
// in the baseline, or when it is listed in the accepted list (a deliberate break, with a CHANGELOG
// entry). Inspector's own suppressRemovalOfDeprecatedField rule is not used: it lets every type
// removal through and knows nothing of deprecated arguments.

export interface AcceptedChange {
  /** Inspector's change type, e.g. FIELD_TYPE_CHANGED. */
  type: string;
  /** Inspector's path, e.g. OnChainMetric.kind or Query.onChainMetrics.kinds. */
  path: string;
  reason: string;
}

export interface CompatReport {
  /** Breaking changes neither deprecated first nor accepted: these fail the check. */
  blocked: Change[];
  /** Breaking changes to elements the baseline had deprecated. */
  deprecatedFirst: Change[];
  /** Breaking changes the accepted list lets through. */
  accepted: Change[];
  /** Accepted entries that match no change (stale: they would let a future break through unseen). */
  unusedAccepted: AcceptedChange[];
}

export async function checkCompatibility(
  baselineSdl: string,
  currentSdl: string,
  acceptedList: readonly AcceptedChange[] = [],
): Promise<CompatReport> {
  const baseline = buildSchema(baselineSdl);
  const current = buildSchema(currentSdl);
  const breaking = (await diff(baseline, current)).filter(
    (change) => change.criticality.level === CriticalityLevel.Breaking,
  );
  const removableTypes = typesRemovableAfterDeprecation(
    baseline,
    breaking.filter((c) => c.type === 'TYPE_REMOVED' && c.path).map((c) => c.path!),
  );
  const report: CompatReport = { blocked: [], deprecatedFirst: [], accepted: [], unusedAccepted: [] };
  const used = new Set<AcceptedChange>();
  for (const change of breaking) {
    const path = change.path ?? '';
    const entry = acceptedList.find((a) => a.type === change.type && a.path === path);
    if (change.type === 'TYPE_REMOVED' ? removableTypes.has(path) : deprecatedIn(baseline, path)) {
      report.deprecatedFirst.push(change);
    } else if (entry) {
      used.add(entry);
      report.accepted.push(change);
    } else {
      report.blocked.push(change);
    }
  }
  report.unusedAccepted = acceptedList.filter((a) => !used.has(a));
  return report;
}

/** Is the element at an inspector path (Type.field, Type.field.arg, Input.field, Enum.VALUE), or its field, deprecated? */
export function deprecatedIn(schema: GraphQLSchema, path: string): boolean {
  const [typeName, member, argName] = path.split('.');
  const type = typeName ? schema.getType(typeName) : undefined;
  if (!type || !member) return false;
  if (isObjectType(type) || isInterfaceType(type)) {
    const field = type.getFields()[member];
    if (!field) return false;
    if (field.deprecationReason != null) return true;
    return argName !== undefined && field.args.find((a) => a.name === argName)?.deprecationReason != null;
  }
  if (isInputObjectType(type)) return type.getFields()[member]?.deprecationReason != null;
  if (isEnumType(type)) return type.getValue(member)?.deprecationReason != null;
  return false;
}

/**
 * Of the removed types, those the baseline reached only through deprecated elements (or through other
 * types removed the same way): a type cannot carry @deprecated, so deprecating every way to it is how
 * it is deprecated.
 */
function typesRemovableAfterDeprecation(baseline: GraphQLSchema, removed: readonly string[]): Set<string> {
  const references = new Map<string, Array<{ owner: string; deprecated: boolean }>>();
  const refer = (target: GraphQLNamedType, owner: string, deprecated: boolean) => {
    references.set(target.name, [...(references.get(target.name) ?? []), { owner, deprecated }]);
  };
  for (const type of Object.values(baseline.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const i of type.getInterfaces()) refer(i, type.name, false);
      for (const field of Object.values(type.getFields())) {
        const fieldDeprecated = field.deprecationReason != null;
        refer(getNamedType(field.type), type.name, fieldDeprecated);
        for (const arg of field.args) {
          refer(getNamedType(arg.type), type.name, fieldDeprecated || arg.deprecationReason != null);
        }
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        refer(getNamedType(field.type), type.name, field.deprecationReason != null);
      }
    }
    if (isUnionType(type)) for (const member of type.getTypes()) refer(member, type.name, false);
  }
  const removable = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of removed) {
      if (removable.has(name)) continue;
      const refs = references.get(name) ?? [];
      if (refs.every((r) => r.deprecated || r.owner === name || removable.has(r.owner))) {
        removable.add(name);
        grew = true;
      }
    }
  }
  return removable;
}

export function describeChanges(changes: readonly Change[]): string {
  return changes.map((c) => `${c.type} ${c.path ?? ''}: ${c.message}`).join('\n');
}
