// Loaded into every test process by scripts/run-tests.mjs. Property tests draw from one fixed seed so that a run on
// a clean checkout is reproducible; FUZZ_SEED picks another, FUZZ_SEED=random a fresh one each run.
import fc from 'fast-check';

const wanted = process.env.FUZZ_SEED ?? '20060501';
if (wanted !== 'random') {
  const seed = Number(wanted);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${JSON.stringify(wanted)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
