import { badUserInput, quote } from '../errors.js';

// Node ids. Canonical asset ids are readable slugs ('bitcoin') and stay readable as Node ids; every
// other node type is prefixed with its type name ('Signal:bitcoin:RSI:1d'). Slugs never contain ':',
// so decoding is unambiguous. An id this API could not have issued is BAD_USER_INPUT here, before any
// loader runs; a well-formed id of a known type that names nothing is the loader's NOT_FOUND.

/** Every object type that implements Node (test/gateway/nodes.test.ts checks this against the schema). */
export const NODE_TYPES = ['Asset', 'OnChainMetric', 'Signal'] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

export function encodeNodeId(typename: string, id: bigint | number | string): string {
  return typename === 'Asset' ? String(id) : `${typename}:${id}`;
}

export function decodeNodeId(globalID: string): { typename: NodeTypeName; id: string } {
  const i = globalID.indexOf(':');
  if (i < 0) {
    if (globalID.trim() === '') throw notIssued(globalID);
    return { typename: 'Asset', id: globalID };
  }
  const typename = globalID.slice(0, i);
  const id = globalID.slice(i + 1);
  // Asset ids are never prefixed: one object, one id.
  if (typename === 'Asset' || !isNodeType(typename) || id === '') throw notIssued(globalID);
  return { typename, id };
}

/** The error for an id of a known type whose parts do not parse (a Signal id without its interval, ...). */
export function malformedNodeId(typename: NodeTypeName, id: string, expected: string): Error {
  return badUserInput(
    `${quote(encodeNodeId(typename, id))} is not a ${typename} id: expected ${typename}:${expected}`,
  );
}

function isNodeType(name: string): name is NodeTypeName {
  return (NODE_TYPES as readonly string[]).includes(name);
}

function notIssued(globalID: string): Error {
  return badUserInput(
    `${quote(globalID)} is not a node id this API issued (an asset slug, or one of ${NODE_TYPES.filter((t) => t !== 'Asset').join(', ')} followed by ':')`,
    'id',
  );
}
