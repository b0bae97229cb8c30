/**
 * What a compare scenario is. The harness (bench/compare.ts) starts the servers, calls `setup` once
 * per server, then `measure` `repeat` times per server, alternating the order, and stops them.
 */
import type { BenchConfig } from './bench-config.ts';
import type { ServerHandle, ServerKind, StartOptions } from './server-process.ts';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  /** digits after the point in the table */
  decimals?: number;
}

/**
 * One measurement: numbers per metric, plus `check` (exactly-once/in-order and similar): 'ok' or a
 * description of what failed. A failed check marks the figures of that run FAILED in the table.
 */
export interface Sample {
  figures: Record<string, number>;
  check?: string;
  /** what happened beyond the figures (timeouts, refusals), shown under the table */
  note?: string;
}

export interface Scenario {
  id: string;
  title: string;
  metrics: MetricDef[];
  /** what `Sample.check` verifies, for the table */
  checkLabel?: string;
  /** which servers run it; default watchkv and etcd */
  servers?: ServerKind[];
  /** start fresh servers for every repetition (memory figures), instead of once per scenario */
  freshPerRep?: boolean;
  startOptions?: (cfg: BenchConfig) => StartOptions;
  /** starts the scenario's own targets instead of the standard servers (e.g. an etcd cluster) */
  start?(kind: ServerKind, cfg: BenchConfig): Promise<ServerHandle>;
  setup?(server: ServerHandle, cfg: BenchConfig): Promise<void>;
  measure(server: ServerHandle, rep: number, cfg: BenchConfig): Promise<Sample>;
  /** release what the scenario holds across servers (e.g. its writer process) */
  teardown?(): Promise<void>;
}
