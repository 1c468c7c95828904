import { RACE_EDGES, RACE_QUERY } from './race-answer.js';

// What the race reports: one result per slot per round, medians per slot over the rounds it
// succeeded in, and marketgraph's req/s over each peer's within each round (then their median), next
// to issue #9's targets.

/** `marketgraph+key`: the same gateway with MARKETGRAPH_AUTH=required, every request with an API key. */
export type SlotName = 'marketgraph' | 'marketgraph+key' | 'yoga' | 'ceiling';
export const SLOTS: readonly SlotName[] = ['marketgraph', 'marketgraph+key', 'yoga', 'ceiling'];

export interface SlotResult {
  round: number;
  slot: SlotName;
  tool: 'autocannon' | 'wrk';
  ok: boolean;
  /** Why the slot failed, when it did. */
  failure?: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRequest: number;
  /** Server CPU over the window, % of one core. */
  serverCpuPct: number;
  rssIdleMb: number;
  rssMb: number;
  /** The load generator's CPU (this runner with autocannon and the sandbox, or wrk), % of one core. */
  loadCpuPct: number;
  /** CPU of everything else on the machine during the window, % of one core (steal excluded). */
  otherCpuPct: number;
  stealPct: number;
  non2xx: number;
  badBodies: number;
  socketErrors: number;
}

export interface Summary {
  medians: Partial<Record<SlotName, Record<string, number>>>;
  /** Per round (rounds where both slots succeeded), then the median. */
  ratios: { round: number; vsYoga?: number; vsCeiling?: number; keyedVsOpen?: number }[];
  medianVsYoga?: number;
  medianVsCeiling?: number;
  /** req/s with auth on (a keyed client) over req/s with auth off, median of the rounds. */
  medianKeyedVsOpen?: number;
}

export function summarize(results: SlotResult[]): Summary {
  const medians: Summary['medians'] = {};
  for (const slot of SLOTS) {
    const ok = results.filter((r) => r.slot === slot && r.ok);
    if (ok.length === 0) continue;
    const of = (pick: (r: SlotResult) => number) => median(ok.map(pick));
    medians[slot] = {
      reqPerSec: of((r) => r.reqPerSec),
      p50Ms: of((r) => r.p50Ms),
      p99Ms: of((r) => r.p99Ms),
      serverCpuUsPerRequest: of((r) => r.serverCpuUsPerRequest),
      rssIdleMb: of((r) => r.rssIdleMb),
      rssMb: of((r) => r.rssMb),
    };
  }
  const rounds = [...new Set(results.map((r) => r.round))];
  const ratios = rounds.map((round) => {
    const get = (slot: SlotName) => results.find((r) => r.round === round && r.slot === slot && r.ok);
    const mg = get('marketgraph');
    const yoga = get('yoga');
    const ceiling = get('ceiling');
    const keyed = get('marketgraph+key');
    return {
      round,
      ...(mg && yoga ? { vsYoga: mg.reqPerSec / yoga.reqPerSec } : {}),
      ...(mg && ceiling ? { vsCeiling: mg.reqPerSec / ceiling.reqPerSec } : {}),
      ...(mg && keyed ? { keyedVsOpen: keyed.reqPerSec / mg.reqPerSec } : {}),
    };
  });
  const vsYoga = ratios.flatMap((r) => (r.vsYoga === undefined ? [] : [r.vsYoga]));
  const vsCeiling = ratios.flatMap((r) => (r.vsCeiling === undefined ? [] : [r.vsCeiling]));
  const keyedVsOpen = ratios.flatMap((r) => (r.keyedVsOpen === undefined ? [] : [r.keyedVsOpen]));
  return {
    medians,
    ratios,
    ...(vsYoga.length > 0 ? { medianVsYoga: median(vsYoga) } : {}),
    ...(vsCeiling.length > 0 ? { medianVsCeiling: median(vsCeiling) } : {}),
    ...(keyedVsOpen.length > 0 ? { medianKeyedVsOpen: median(keyedVsOpen) } : {}),
  };
}

export function formatRace(
  results: SlotResult[],
  options: { durationS: number; warmupS: number; connections: number; rounds: number },
): string {
  const summary = summarize(results);
  const header = [
    'round',
    'server',
    'tool',
    'req/s',
    'p50 ms',
    'p99 ms',
    'µs CPU/req',
    'server CPU',
    'RSS MB (idle→load)',
    'load gen CPU',
    'other CPU',
    'steal',
    'answers checked',
  ];
  const rows = results.map((r) => [
    String(r.round),
    r.slot,
    r.tool,
    r.ok ? r.reqPerSec.toFixed(0) : 'FAILED',
    String(r.p50Ms),
    String(r.p99Ms),
    r.serverCpuUsPerRequest.toFixed(0),
    `${r.serverCpuPct}%`,
    `${r.rssIdleMb.toFixed(0)}→${r.rssMb.toFixed(0)}`,
    `${r.loadCpuPct}%`,
    `${r.otherCpuPct}%`,
    `${r.stealPct}%`,
    r.ok
      ? `${r.requests}, all good`
      : (r.failure ?? `${r.non2xx} non-2xx, ${r.badBodies} bad, ${r.socketErrors} socket`),
  ]);
  const medianRows = SLOTS.flatMap((slot) => {
    const m = summary.medians[slot];
    if (!m) return [];
    return [
      [
        'median',
        slot,
        '',
        m.reqPerSec!.toFixed(0),
        String(m.p50Ms),
        String(m.p99Ms),
        m.serverCpuUsPerRequest!.toFixed(0),
        '',
        `${m.rssIdleMb!.toFixed(0)}→${m.rssMb!.toFixed(0)}`,
        '',
        '',
        '',
        '',
      ],
    ];
  });
  const all = [...rows, ...medianRows];
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const ratio = (value: number | undefined, asPercent = false) =>
    value === undefined ? '—' : asPercent ? `${(value * 100).toFixed(1)}%` : `${value.toFixed(2)}×`;
  const ratioLines = summary.ratios.map(
    (r) =>
      `  round ${r.round}: marketgraph/yoga ${ratio(r.vsYoga)}, marketgraph/ceiling ${ratio(r.vsCeiling, true)}, keyed/open ${ratio(r.keyedVsOpen)}`,
  );
  const mg = summary.medians.marketgraph;
  const mark = (ok: boolean) => (ok ? 'met' : 'not met');
  const targets = [
    summary.medianVsYoga === undefined
      ? ''
      : `  ≥2.5× the stock Yoga: ${ratio(summary.medianVsYoga)} (${mark(summary.medianVsYoga >= 2.5)})`,
    summary.medianVsCeiling === undefined
      ? ''
      : `  ≥30 % of the ceiling: ${ratio(summary.medianVsCeiling, true)} (${mark(summary.medianVsCeiling >= 0.3)})`,
    mg ? `  p99 ≤10 ms at c=${options.connections}: ${mg.p99Ms} ms (${mark(mg.p99Ms! <= 10)})` : '',
    summary.medianKeyedVsOpen === undefined
      ? ''
      : `  auth on costs ≤10 % of req/s: keyed/open ${ratio(summary.medianKeyedVsOpen)} (${mark(summary.medianKeyedVsOpen >= 0.9)})`,
  ].filter(Boolean);
  return [
    '',
    `race: ${RACE_QUERY} (${RACE_EDGES} edges), ${options.connections} connections, ${options.warmupS} s warm-up + ${options.durationS} s measured per slot, ${options.rounds} rounds`,
    line(header),
    ...rows.map(line),
    '',
    ...medianRows.map(line),
    '',
    'ratios within each round (req/s):',
    ...ratioLines,
    `  median: marketgraph/yoga ${ratio(summary.medianVsYoga)}, marketgraph/ceiling ${ratio(summary.medianVsCeiling, true)}, keyed/open ${ratio(summary.medianKeyedVsOpen)}`,
    '',
    'issue #9 targets (medians):',
    ...targets,
  ].join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
