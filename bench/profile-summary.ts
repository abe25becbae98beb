/**
 * Hot spots of a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- --cpu-prof=DIR
 * --loader=tsx`): self and inclusive time per function, as a share of the busy (non-idle) time.
 * Multiply a share by the scenario's CPU µs/req to get µs per request.
 *
 *   npx tsx bench/profile-summary.ts DIR/CPU.*.cpuprofile [--top=25] [--match=/lib/]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);

function summarize(file: string, top: number, match: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.replace(/^file:\/\/.*?\/(lib|bench|node_modules)\//, '$1/');
    return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(garbage collector)') gc += dt;
    if (name === '(idle)' || name === '(program)') return;
    busy += dt;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = label(byId.get(cur)!);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });

  const pct = (v: number): string => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${file}\n  busy ${(busy / 1e6).toFixed(2)} s, of which GC ${pct(gc)}`);
  console.log('  self time (all code):');
  for (const [key, v] of [...self]
    .filter(([k]) => !IDLE.has(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`    ${pct(v)}  ${key}`);
  }
  console.log(`  inclusive time (functions matching ${match}):`);
  for (const [key, v] of [...inclusive]
    .filter(([k]) => k.includes(match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`    ${pct(v)}  ${key}`);
  }
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile… [--top=25] [--match=lib/]');
  process.exitCode = 2;
}
for (const file of files) summarize(file, Number(option('top', '25')), option('match', 'lib/'));
