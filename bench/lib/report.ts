/**
 * Turns the samples of a compare run into the table (figures, watchkv/etcd ratios, targets with
 * PASS/MISS), the JSON results file and bench/RESULTS.md.
 */
import type { MetricDef, Sample, Scenario } from './scenario.ts';
import type { ServerKind } from './server-process.ts';

export interface ScenarioOutcome {
  id: string;
  title: string;
  metrics: MetricDef[];
  checkLabel: string;
  kinds: ServerKind[];
  samples: Partial<Record<ServerKind, Sample[]>>;
  errors: Partial<Record<ServerKind, string>>;
}

export interface Target {
  scenario: string;
  /** metric key, or `<key>@fastify` for the comparison with the bare fastify route */
  metric: string;
  label: string;
  pass: (v: { watchkv: number; etcd: number; fastify: number; nats: number }) => boolean;
}

export interface Row {
  scenario: string;
  metric: string;
  watchkv: string;
  etcd: string;
  ratio: string;
  target: string;
  result: string;
}

export function outcomeFor(s: Scenario, kinds: ServerKind[]): ScenarioOutcome {
  return { id: s.id, title: s.title, metrics: s.metrics, checkLabel: s.checkLabel ?? 'check', kinds, samples: {}, errors: {} };
}

export function mean(xs: number[]): number {
  const ok = xs.filter((x) => Number.isFinite(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN;
}

function values(o: ScenarioOutcome, kind: ServerKind, key: string): number[] {
  return (o.samples[kind] ?? []).map((s) => s.figures[key] ?? Number.NaN);
}

function failedChecks(o: ScenarioOutcome, kind: ServerKind): string[] {
  return (o.samples[kind] ?? []).map((s) => s.check).filter((c): c is string => c !== undefined && c !== 'ok');
}

function fmt(x: number, decimals = 0): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(decimals);
}

/** mean ± half the spread between repetitions, in % of the mean */
function cell(xs: number[], decimals = 0): string {
  const m = mean(xs);
  if (!Number.isFinite(m)) return 'n/a';
  const ok = xs.filter((x) => Number.isFinite(x));
  const spread = ok.length > 1 && m !== 0 ? ((Math.max(...ok) - Math.min(...ok)) / 2 / Math.abs(m)) * 100 : 0;
  return spread >= 0.5 ? `${fmt(m, decimals)} ±${spread.toFixed(0)}%` : fmt(m, decimals);
}

function kindCell(o: ScenarioOutcome, kind: ServerKind, key: string, decimals?: number): string {
  if (!o.kinds.includes(kind)) return '';
  const xs = values(o, kind, key);
  const err = o.errors[kind];
  if (xs.length === 0) return err ? 'ERROR' : 'n/a';
  const c = cell(xs, decimals);
  return failedChecks(o, kind).length ? `${c} (FAILED)` : c;
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

export function buildRows(outcomes: ScenarioOutcome[], targets: Target[]): Row[] {
  const rows: Row[] = [];
  for (const o of outcomes) {
    let first = true;
    const push = (metric: string, r: Omit<Row, 'scenario' | 'metric' | 'target' | 'result'>, targetKey: string): void => {
      const t = targets.find((x) => x.scenario === o.id && x.metric === targetKey);
      let result = '';
      if (t) {
        const v = {
          watchkv: mean(values(o, 'watchkv', targetKey.split('@')[0]!)),
          etcd: mean(values(o, 'etcd', targetKey.split('@')[0]!)),
          fastify: mean(values(o, 'fastify', targetKey.split('@')[0]!)),
          nats: mean(values(o, 'nats', targetKey.split('@')[0]!)),
        };
        if (!o.kinds.includes('watchkv') || !(o.samples.watchkv ?? []).length) result = o.errors.watchkv ? 'MISS (watchkv ERROR)' : 'n/a';
        else if (failedChecks(o, 'watchkv').length) result = 'MISS (watchkv run FAILED)';
        else result = t.pass(v) ? 'PASS' : 'MISS';
      }
      rows.push({ scenario: first ? o.title : '', metric, ...r, target: t?.label ?? '', result });
      first = false;
    };
    // A row compared with another server than etcd (queue: NATS JetStream) shows it in the etcd
    // column, named in the cell, as the fastify ceiling is.
    const other: ServerKind = o.kinds.includes('nats') ? 'nats' : 'etcd';
    const otherCell = (key: string, decimals?: number): string => {
      const c = kindCell(o, other, key, decimals);
      return other === 'etcd' || c === '' ? c : `${other}: ${c}`;
    };
    for (const m of o.metrics) {
      const wk = mean(values(o, 'watchkv', m.key));
      const et = mean(values(o, other, m.key));
      push(`${m.label} (${m.unit})`, { watchkv: kindCell(o, 'watchkv', m.key, m.decimals), etcd: otherCell(m.key, m.decimals), ratio: ratio(wk, et) }, m.key);
      if (o.kinds.includes('fastify')) {
        const fa = mean(values(o, 'fastify', m.key));
        if (m.key === o.metrics[0]!.key) {
          push(`vs bare fastify route: ${m.label}`, { watchkv: kindCell(o, 'watchkv', m.key, m.decimals), etcd: `fastify: ${kindCell(o, 'fastify', m.key, m.decimals)}`, ratio: ratio(wk, fa) }, `${m.key}@fastify`);
        }
      }
    }
    const hasChecks = o.kinds.some((k) => (o.samples[k] ?? []).some((s) => s.check !== undefined));
    if (hasChecks) {
      const verdict = (k: ServerKind): string => {
        if (!o.kinds.includes(k)) return '';
        const n = (o.samples[k] ?? []).length;
        const bad = failedChecks(o, k).length;
        return n === 0 ? (o.errors[k] ? 'ERROR' : 'n/a') : bad ? `FAILED (${bad}/${n} runs)` : `ok (${n} runs)`;
      };
      push(o.checkLabel, { watchkv: verdict('watchkv'), etcd: verdict(other), ratio: '' }, '#check');
    }
  }
  return rows;
}

export function renderTable(rows: Row[]): string {
  const head = ['scenario', 'metric', 'watchkv', 'etcd', 'watchkv/etcd', 'target', 'PASS/MISS'];
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${[r.scenario, r.metric, r.watchkv, r.etcd, r.ratio, r.target, r.result].map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** Failed checks, errors and notes, one line each, for under the table. */
export function renderNotes(outcomes: ScenarioOutcome[]): string[] {
  const out: string[] = [];
  for (const o of outcomes) {
    for (const k of o.kinds) {
      if (o.errors[k]) out.push(`${o.id} / ${k}: ERROR ${o.errors[k]}`);
      (o.samples[k] ?? []).forEach((s, i) => {
        if (s.check && s.check !== 'ok') out.push(`${o.id} / ${k} / run ${i + 1}: ${s.check}`);
        if (s.note) out.push(`${o.id} / ${k} / run ${i + 1}: ${s.note}`);
      });
    }
  }
  return out;
}
