/**
 * Which version of our parser a figure belongs to: the tree is often measured with uncommitted changes, so the
 * commit alone does not say, and a dist older than its sources would measure code nobody is looking at.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const srcDir = join(repoRoot, 'packages/sip/src/message');
const distDir = join(repoRoot, 'packages/sip/dist/message');

export interface SourceState {
  commit: string | undefined;
  /** Uncommitted changes under packages/sip/src/message. */
  dirty: boolean | undefined;
  /** sha256 (first 12 hex digits) of packages/sip/src/message/*.ts, tests excluded. */
  messageSourcesHash: string;
  /** Sources newer than their build output: the measured code is not what the sources say. */
  staleBuild: string[];
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function sourceState(): SourceState {
  const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  const hash = createHash('sha256');
  const staleBuild: string[] = [];
  for (const f of files) {
    const path = join(srcDir, f);
    hash.update(f).update('\0').update(readFileSync(path)).update('\0');
    const built = join(distDir, f.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) staleBuild.push(`packages/sip/src/message/${f}`);
  }
  const status = git(['status', '--porcelain', '--', 'packages/sip/src/message']);
  return {
    commit: git(['rev-parse', '--short=12', 'HEAD']),
    dirty: status === undefined ? undefined : status.length > 0,
    messageSourcesHash: hash.digest('hex').slice(0, 12),
    staleBuild,
  };
}
