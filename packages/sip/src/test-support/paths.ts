import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with the workspace package.json), found from this file. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** `../shared` beside the repository: conformance vectors and reference set-ups. */
export const sharedDir = ((): string => {
  const candidate = process.env.SWITCHBOARD_SHARED ?? join(repoRoot, '../shared');
  if (!existsSync(candidate)) throw new Error(`shared folder not found at ${candidate} (set SWITCHBOARD_SHARED)`);
  return candidate;
})();

export const rfc4475Dir = join(sharedDir, 'conformance/rfc4475');
