import { readFileSync } from 'node:fs';
import { type FieldDefinitionNode, Kind, parse, print, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema/index.js';
import { type AcceptedChange, checkCompatibility, describeChanges } from './helpers/schema-compat.js';

// CI fails on a breaking change against the released schema (schema/baseline.graphql) unless the
// element was deprecated there first, or the break is deliberate: listed in
// schema/accepted-breaking-changes.json and in CHANGELOG.md's Unreleased section. The policy and the
// release steps: docs/schema-evolution.md.

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const baselineSdl = read('../schema/baseline.graphql');
const accepted = JSON.parse(read('../schema/accepted-breaking-changes.json')) as AcceptedChange[];
const currentSdl = printSchema(buildSchema());

/** The SDL without the field (or, with `arg`, without that argument of the field). */
function without(sdl: string, typeName: string, fieldName: string, arg?: string): string {
  let found = false;
  const document = parse(sdl);
  const definitions = document.definitions.map((definition) => {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION || definition.name.value !== typeName)
      return definition;
    const fields = (definition.fields ?? []).flatMap((field): FieldDefinitionNode[] => {
      if (field.name.value !== fieldName) return [field];
      found = true;
      if (arg === undefined) return [];
      return [{ ...field, arguments: field.arguments?.filter((a) => a.name.value !== arg) }];
    });
    return { ...definition, fields };
  });
  if (!found) throw new Error(`${typeName}.${fieldName} is not in the SDL`);
  return print({ ...document, definitions });
}

describe('breaking changes against schema/baseline.graphql', () => {
  it('has none that was not deprecated first or accepted', async () => {
    const report = await checkCompatibility(baselineSdl, currentSdl, accepted);
    expect(
      describeChanges(report.blocked),
      'Breaking changes: deprecate the element first (docs/schema-evolution.md)',
    ).toBe('');
  });

  it('lists no accepted break that does not happen (a stale entry would let a later one through)', async () => {
    const report = await checkCompatibility(baselineSdl, currentSdl, accepted);
    expect(report.unusedAccepted).toEqual([]);
  });

  it("records every accepted break in CHANGELOG.md's Unreleased section", () => {
    const changelog = read('../CHANGELOG.md');
    const unreleased = /## \[Unreleased\]([\s\S]*?)(\n## \[|$)/.exec(changelog)?.[1] ?? '';
    expect(unreleased).not.toBe('');
    for (const entry of accepted) expect(unreleased, entry.path).toContain(`\`${entry.path}\``);
  });
});

describe('the check itself', () => {
  it('fails on a field removed without deprecation', async () => {
    const report = await checkCompatibility(currentSdl, without(currentSdl, 'Asset', 'name'), accepted);
    expect(report.blocked.map((c) => [c.type, c.path])).toEqual([['FIELD_REMOVED', 'Asset.name']]);
  });

  it('passes a field removed after its deprecation in the baseline', async () => {
    expect(baselineSdl).toMatch(/lastError: String @deprecated/);
    const report = await checkCompatibility(
      baselineSdl,
      without(currentSdl, 'Source', 'lastError'),
      accepted,
    );
    expect(report.blocked).toEqual([]);
    expect(report.deprecatedFirst.map((c) => c.path)).toContain('Source.lastError');
  });

  it('passes a deprecated argument removed, and fails a live one', async () => {
    const noId = await checkCompatibility(currentSdl, without(currentSdl, 'Query', 'asset', 'id'));
    expect(noId.blocked).toEqual([]);
    expect(noId.deprecatedFirst.map((c) => c.path)).toEqual(['Query.asset.id']);
    const noBy = await checkCompatibility(currentSdl, without(currentSdl, 'Query', 'asset', 'by'));
    expect(noBy.blocked.map((c) => [c.type, c.path])).toEqual([['FIELD_ARGUMENT_REMOVED', 'Query.asset.by']]);
  });

  it('fails a changed type, a removed enum value and a new required argument; passes them once deprecated', async () => {
    const before = `
      type Query { price(currency: String): Float  legacy: Int @deprecated(reason: "gone")  side: Side }
      enum Side { BUY SELL OLD @deprecated(reason: "gone") }
    `;
    const after = `
      type Query { price(currency: String, venue: String!): String  legacy: String  side: Side }
      enum Side { BUY }
    `;
    const report = await checkCompatibility(before, after);
    expect(report.blocked.map((c) => [c.type, c.path]).sort()).toEqual([
      ['ENUM_VALUE_REMOVED', 'Side.SELL'],
      ['FIELD_ARGUMENT_ADDED', 'Query.price.venue'],
      ['FIELD_TYPE_CHANGED', 'Query.price'],
    ]);
    expect(report.deprecatedFirst.map((c) => c.path).sort()).toEqual(['Query.legacy', 'Side.OLD']);
  });

  it('removes a type only when every way to it was deprecated', async () => {
    const before = `
      type Query { old: Old @deprecated(reason: "gone")  kept: Kept }
      type Old { inner: Inner }
      type Inner { x: Int }
      type Kept { x: Int }
    `;
    const report = await checkCompatibility(before, 'type Query { kept: Int }');
    expect(report.blocked.map((c) => [c.type, c.path]).sort()).toEqual([
      ['FIELD_TYPE_CHANGED', 'Query.kept'],
      ['TYPE_REMOVED', 'Kept'],
    ]);
    expect(report.deprecatedFirst.map((c) => c.path).sort()).toEqual(['Inner', 'Old', 'Query.old']);
  });

  it('lets an accepted break through for its exact type and path only', async () => {
    const before = 'type Query { a: String  b: String }';
    const after = 'type Query { a: Int }';
    const entry = { type: 'FIELD_TYPE_CHANGED', path: 'Query.a', reason: 'test' };
    const report = await checkCompatibility(before, after, [entry, { ...entry, path: 'Query.c' }]);
    expect(report.accepted.map((c) => c.path)).toEqual(['Query.a']);
    expect(report.blocked.map((c) => [c.type, c.path])).toEqual([['FIELD_REMOVED', 'Query.b']]);
    expect(report.unusedAccepted.map((a) => a.path)).toEqual(['Query.c']);
  });

  it('reads the @oneOf input and the deprecated arguments back from the printed SDL', () => {
    expect(currentSdl).toMatch(/input AssetLookup @oneOf/);
    const asset = parse(currentSdl).definitions.find(
      (d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query',
    );
    expect(JSON.stringify(asset)).toContain('"deprecated"');
  });
});
