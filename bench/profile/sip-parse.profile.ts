/**
 * CPU profile of our parse + serialize loop (profile/sip-parse-loop.ts under `node --cpu-prof`), summarised as the
 * functions with the most self and inclusive time, located in the TypeScript sources through the build's source maps.
 *
 * The loop is profiled twice. As it normally runs, for the function figures. Then with inlining off, for the line
 * figures: V8 bills the lines of an inlined function to its caller, with line numbers from the inlined function's
 * own file, which makes line figures of the first profile point at the wrong places. Without inlining each function
 * pays for its own lines (and for calls that would have been inlined, so those figures are somewhat pessimistic).
 *
 * Usage: node --import tsx profile/sip-parse.profile.ts [seconds]   (npm run profile -w bench)
 * Writes results/profile/*.cpuprofile (open it in Chrome DevTools) and results/sip-parse-profile.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceState } from '../lib/source-state.js';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
  /** Samples by 1-based line of the generated file. */
  positionTicks?: { line: number; ticks: number }[];
}
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number }

const seconds = process.argv[2] ?? '8';
const benchDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const profileDir = join(benchDir, 'results', 'profile');
mkdirSync(profileDir, { recursive: true });

function profileLoop(flags: string[]): string {
  const started = Date.now();
  // 100 µs sampling (the default is 1 ms) so that short functions get enough samples in a few seconds.
  const child = spawnSync(process.execPath, [
    '--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100', ...flags,
    '--import', 'tsx', join(benchDir, 'profile', 'sip-parse-loop.ts'), seconds,
  ], { cwd: benchDir, stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`profiled loop exited with ${child.status ?? child.signal}`);
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread; the module loader's thread
  // (tsx runs its hooks off the main thread) writes a profile of its own.
  const file = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')
    .map((f) => join(profileDir, f))
    .filter((f) => statSync(f).mtimeMs >= started)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (file === undefined) throw new Error('no .cpuprofile written');
  return file;
}

const maps = new Map<string, SourceMap | null>();
function sourceMapFor(path: string): SourceMap | null {
  let map = maps.get(path);
  if (map === undefined) {
    const mapFile = path + '.map';
    map = existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null;
    maps.set(path, map);
  }
  return map;
}

/** "function (file:line)" in the sources where a map leads there; the built or native location otherwise. */
function locate(frame: CallFrame): { key: string; file: string } {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url.startsWith('file://')) return { key: frame.url === '' ? name : `${name} (${frame.url})`, file: frame.url };
  const path = fileURLToPath(frame.url);
  let where = relative(repoRoot, path);
  let line = frame.lineNumber + 1;
  const map = sourceMapFor(path);
  if (map !== null) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : join(path, '..', entry.originalSource);
      where = relative(repoRoot, source);
      line = entry.originalLine + 1;
    }
  }
  return { key: `${name} (${where}:${line})`, file: where };
}

const generatedLines = new Map<string, string[]>();
/** Source file, line and text of a 1-based generated line, through the source map (the statement's first column). */
function locateLine(url: string, line: number): { where: string; text: string } | undefined {
  if (!url.startsWith('file://')) return undefined;
  const path = fileURLToPath(url);
  let lines = generatedLines.get(path);
  if (lines === undefined) generatedLines.set(path, (lines = readFileSync(path, 'utf8').split('\n')));
  const generated = lines[line - 1] ?? '';
  const map = sourceMapFor(path);
  if (map === null) return { where: `${relative(repoRoot, path)}:${line}`, text: generated.trim() };
  const column = generated.length - generated.trimStart().length;
  const entry = map.findEntry(line - 1, column) as { originalSource?: string; originalLine?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
  const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : join(path, '..', entry.originalSource);
  let sourceLines = generatedLines.get(source);
  if (sourceLines === undefined) generatedLines.set(source, (sourceLines = readFileSync(source, 'utf8').split('\n')));
  return { where: `${relative(repoRoot, source)}:${entry.originalLine + 1}`, text: (sourceLines[entry.originalLine] ?? '').trim() };
}

const OURS = 'packages/sip/src/';
const LOOP = 'bench/profile/sip-parse-loop.ts';

interface Row { fn: string; pct: number }
interface LineRow { where: string; fn: string; pct: number; text: string }

function analyze(file: string) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  // Self time of what runs inside the loop, plus garbage collection (which the profile puts at the root).
  const selfInLoop = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const fileOf = new Map<string, string>();
  const lineHits = new Map<string, { hits: number; fn: string; text: string }>();

  // Inclusive time counts a function once per sample even when it is on the stack several times (recursion).
  function walk(node: ProfileNode, onStack: Map<string, number>, inLoop: boolean): number {
    const { key, file: where } = locate(node.callFrame);
    fileOf.set(key, where);
    const hits = node.hitCount ?? 0;
    self.set(key, (self.get(key) ?? 0) + hits);
    if (where === LOOP) inLoop = true;
    if (inLoop || key === '(garbage collector)') selfInLoop.set(key, (selfInLoop.get(key) ?? 0) + hits);
    for (const { line, ticks } of node.positionTicks ?? []) {
      const at = locateLine(node.callFrame.url, line);
      if (at === undefined) continue;
      const entry = lineHits.get(at.where) ?? { hits: 0, fn: node.callFrame.functionName || '(anonymous)', text: at.text };
      entry.hits += ticks;
      lineHits.set(at.where, entry);
    }
    onStack.set(key, (onStack.get(key) ?? 0) + 1);
    let total = hits;
    for (const childId of node.children ?? []) total += walk(byId.get(childId)!, onStack, inLoop);
    const depth = onStack.get(key)! - 1;
    if (depth === 0) {
      onStack.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + total);
    } else onStack.set(key, depth);
    return total;
  }
  walk(profile.nodes[0]!, new Map(), false);

  // Percentages are of the time spent in the loop plus garbage collection: start-up and idle time are left out.
  let base = 0;
  for (const [key, hits] of inclusive) if (fileOf.get(key) === LOOP) base = Math.max(base, hits);
  base += self.get('(garbage collector)') ?? 0;
  const pct = (hits: number): number => Math.round((hits / base) * 1000) / 10;
  const top = (table: Map<string, number>, keep: (key: string) => boolean, n: number): Row[] =>
    [...table].filter(([key]) => keep(key)).sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, hits]) => ({ fn, pct: pct(hits) }));
  const isOurs = (key: string): boolean => fileOf.get(key)?.startsWith(OURS) ?? false;
  return {
    profile: relative(benchDir, file),
    samples: base,
    selfTop: top(selfInLoop, () => true, 30),
    oursSelf: top(self, isOurs, 30),
    oursInclusive: top(inclusive, isOurs, 30),
    oursLines: [...lineHits]
      .filter(([where]) => where.startsWith(OURS))
      .sort((a, b) => b[1].hits - a[1].hits)
      .slice(0, 40)
      .map(([where, { hits, fn, text }]): LineRow => ({ where, fn, pct: pct(hits), text: text.length > 110 ? text.slice(0, 110) + '…' : text })),
  };
}

const date = new Date().toISOString();
const normal = analyze(profileLoop([]));
const noInlining = analyze(profileLoop(['--no-turbo-inlining']));
const summary = { date, source: sourceState(), normal, noInlining };

const print = (title: string, rows: { fn: string; pct: number }[]): void => {
  console.log(`\n${title}`);
  for (const row of rows) console.log(`  ${row.pct.toFixed(1).padStart(5)}%  ${row.fn}`);
};
const { source } = summary;
console.log(`\nour parser: commit ${source.commit ?? '?'}${source.dirty ? ' + uncommitted changes' : ''}, message sources ${source.messageSourcesHash}` +
  (source.staleBuild.length > 0 ? `; WARNING: build older than ${source.staleBuild.join(', ')}` : ''));
console.log(`percentages: of the samples in the loop plus garbage collection (${normal.samples} in ${normal.profile})`);
print(`self time in the loop, native frames, regular expressions and GC included (the loop's own line, ${LOOP}, is mostly\n` +
  'V8 flattening the concatenated output of toString()):', normal.selfTop);
print(`self time, ${OURS}:`, normal.oursSelf);
print(`inclusive time, ${OURS}:`, normal.oursInclusive);
console.log(`\nwith inlining off (${noInlining.samples} samples in ${noInlining.profile}):`);
print(`self time, ${OURS}:`, noInlining.oursSelf);
console.log(`\nhot lines (self time, inlining off), ${OURS}:`);
for (const row of noInlining.oursLines) console.log(`  ${row.pct.toFixed(1).padStart(5)}%  ${row.where} ${row.fn}: ${row.text}`);
writeFileSync(join(benchDir, 'results', 'sip-parse-profile.json'), JSON.stringify(summary, null, 2) + '\n');
