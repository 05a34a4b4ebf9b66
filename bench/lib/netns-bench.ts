/**
 * What the sipp benchmarks (registrar.bench.ts, b2bua.bench.ts) share outside the load itself: running in a
 * private network namespace, reading their settings, and recording the machine and source they ran on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { namespaceInterfaces } from '../../test/e2e/support/netns.js';
import { LOOPBACK } from '../../test/e2e/support/ports.js';

function inPrivateNetns(): boolean {
  try {
    const names = namespaceInterfaces();
    return names.length === 1 && names[0] === 'lo' && (networkInterfaces()['lo'] ?? []).some((a) => a.address === LOOPBACK);
  } catch {
    return false;
  }
}

/**
 * Returns when already in a private network namespace with only lo up; otherwise runs the script at `scriptUrl`
 * again under `unshare -n -m -p -f --mount-proc --kill-child` with lo up and exits with its status. `markerEnv` is
 * set in the re-run so that a namespace unshare failed to give is an error rather than an endless re-exec.
 */
export function ensurePrivateNetns(scriptUrl: string, markerEnv: string, cwd: string): void {
  if (inPrivateNetns()) return;
  if (process.env[markerEnv] === '1') throw new Error('unshare gave no private network namespace with lo up');
  const command = [process.execPath, '--import', 'tsx', fileURLToPath(scriptUrl), ...process.argv.slice(2)];
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawnSync('unshare', ['-n', '-m', '-p', '-f', '--mount-proc', '--kill-child', 'sh', '-c', `ip link set lo up && exec ${quoted}`], {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, [markerEnv]: '1' },
  });
  if (child.error) throw child.error;
  process.exit(child.status ?? 1);
}

/** A number from the argument, else the environment variable (npm keeps arguments given to `npm run` at the root). */
export function numberSetting(arg: string | undefined, envName: string, fallback: number): number {
  return Number(arg ?? process.env[envName] ?? fallback);
}

/** A comma-separated list from the argument, else the environment variable; undefined when neither is set. */
export function listSetting(arg: string | undefined, envName: string): string[] | undefined {
  return (arg ?? process.env[envName])?.split(',');
}

/** The ladder's rates; the default when neither argument nor environment variable names any. */
export function ratesSetting(arg: string | undefined, envName: string, fallback: number[]): number[] {
  return listSetting(arg, envName)?.map(Number) ?? fallback;
}

/** Which of `known` to run (all by default); `noun` names one in the error for an unknown name. */
export function onlySetting<T extends string>(arg: string | undefined, envName: string, known: readonly T[], noun: string): T[] {
  const picked = (listSetting(arg, envName)?.map((s) => s.trim()) ?? [...known]) as T[];
  for (const s of picked) if (!known.includes(s)) throw new Error(`unknown ${noun} ${s}; known: ${known.join(', ')}`);
  return picked;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (value: number, digits: number): number => Number(value.toFixed(digits));
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const log = (line: string): void => void process.stdout.write(`${line}\n`);

export { machine } from './machine.js';

/** The commit, and whether the sources that decide the figures (`paths`, relative to `cwd`) have local changes. */
export function gitState(cwd: string, paths: string[]): { commit: string | undefined; dirty: boolean | undefined } {
  const git = (a: string[]): string | undefined => {
    try {
      return execFileSync('git', a, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const status = git(['status', '--porcelain', '--', ...paths]);
  return { commit: git(['rev-parse', '--short=12', 'HEAD']), dirty: status === undefined ? undefined : status.length > 0 };
}
