// The race's document and the two checks of its answers. `validateAssetsAnswer` parses and checks an
// answer in full (the first one of every slot); `checkAssetsBody` checks every answer under load
// without parsing it, by counting what each of the 50 edges must contain in the order GraphQL writes
// fields (the selection set's), so it costs the load generator a few string scans, not a JSON.parse.

export const RACE_QUERY = '{ assets(first: 50) { edges { node { id symbol price { value asOf } } } } }';
export const RACE_EDGES = 50;

/** What is wrong with a full answer, or undefined when it has 50 edges, each priced, and no errors. */
export function validateAssetsAnswer(text: string): string | undefined {
  let body: { data?: { assets?: { edges?: unknown[] } }; errors?: unknown[] };
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  if (body.errors) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
  const edges = body.data?.assets?.edges;
  if (!Array.isArray(edges)) return `no data.assets.edges: ${text.slice(0, 200)}`;
  if (edges.length !== RACE_EDGES) return `${edges.length} edges, not ${RACE_EDGES}`;
  for (const [i, edge] of edges.entries()) {
    const node = (edge as { node?: Record<string, unknown> }).node;
    const price = node?.price as { value?: unknown; asOf?: unknown } | null | undefined;
    const problem =
      typeof node?.id !== 'string' || node.id === ''
        ? 'no id'
        : typeof node.symbol !== 'string' || node.symbol === ''
          ? 'no symbol'
          : !price
            ? 'no price'
            : typeof price.value !== 'number' || !(price.value > 0)
              ? `price.value ${JSON.stringify(price.value)}`
              : typeof price.asOf !== 'string' || Number.isNaN(Date.parse(price.asOf))
                ? `price.asOf ${JSON.stringify(price.asOf)}`
                : undefined;
    if (problem) return `edge ${i}: ${problem}: ${JSON.stringify(edge)}`;
  }
  return undefined;
}

const NODE = '{"node":{"id":"';
const PRICE = '"price":{"value":';
const AS_OF = ',"asOf":"';

/** True when the answer has no errors and exactly 50 edges, each with an id, a positive price and an asOf. */
export function checkAssetsBody(text: string): boolean {
  if (text.includes('"errors"')) return false;
  return (
    count(text, NODE, isIdStart) === RACE_EDGES &&
    count(text, PRICE, isDigit) === RACE_EDGES &&
    count(text, AS_OF, isDigit) === RACE_EDGES
  );
}

/** Occurrences of `marker` whose next character passes `next`. */
function count(text: string, marker: string, next: (code: number) => boolean): number {
  let n = 0;
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) {
    if (next(text.charCodeAt(at + marker.length))) n++;
  }
  return n;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isIdStart(code: number): boolean {
  return code !== 34 && !Number.isNaN(code); // anything but the closing quote of an empty id
}
