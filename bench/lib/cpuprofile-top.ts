/**
 * Prints the hottest functions of a V8 .cpuprofile (from `node --cpu-prof`) by self time:
 * `node --import tsx bench/lib/cpuprofile-top.ts <file.cpuprofile> [n]`. Used to say where a slow
 * watchkv scenario spends its time (start watchkv with BENCH_WATCHKV_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR").
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type CallFrame = ProfileNode['callFrame'];

/** Self time summed per label of the sampled frame, largest first, as % of all samples. */
function selfTime(profile: Profile, labelOf: (f: CallFrame) => string): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const label = labelOf(byId.get(id)!.callFrame);
    self.set(label, (self.get(label) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).map(([label, t]) => [label, (t / total) * 100]);
}

export function topFunctions(profile: Profile, n: number): Array<{ name: string; selfPct: number }> {
  return selfTime(profile, (f) => {
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  })
    .slice(0, n)
    .map(([name, selfPct]) => ({ name, selfPct }));
}

/**
 * Self time by where the code lives: our layers (src/api, src/mvcc, ...), each npm package,
 * Node's own JS (node:*), natives called from JS (no URL: writev, base64 and the like), and
 * V8's buckets ((garbage collector), (idle), (program)). Says which side of a seam a cost is on.
 */
export function byArea(profile: Profile): Array<{ area: string; selfPct: number }> {
  return selfTime(profile, (f) => {
    if (!f.url) return f.functionName.startsWith('(') ? f.functionName : 'native (syscalls, encoders)';
    if (f.url.startsWith('node:')) return 'node: internals';
    const m = /\/(src\/[^/]+|node_modules\/(?:@[^/]+\/)?[^/]+|bench|test|scripts)\//.exec(f.url);
    return m ? m[1]!.replace(/^src\/[^/]+\.ts$/, 'src') : f.url;
  }).map(([area, selfPct]) => ({ area, selfPct }));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const args = process.argv.slice(2);
  const areas = args.includes('--by-area');
  const [file, n] = args.filter((a) => a !== '--by-area');
  if (!file) throw new Error('usage: cpuprofile-top.ts [--by-area] <file.cpuprofile> [n]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  if (areas) for (const a of byArea(profile)) process.stdout.write(`${a.selfPct.toFixed(1).padStart(5)}%  ${a.area}\n`);
  else for (const f of topFunctions(profile, Number(n) || 25)) process.stdout.write(`${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}\n`);
}
