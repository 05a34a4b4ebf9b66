/**
 * The loop sip-parse-instructions.bench.ts runs under valgrind: loads one parser, checks it on the mix, then makes
 * the benchmark's timed call `passes` times over the whole mix. Nothing is timed: the parent counts the
 * instructions of two such processes that differ only in `passes` and divides the difference by the extra messages.
 *
 * Arguments: <parser-id> <passes>
 */
import { MIX } from '../fixtures/sip-mix.js';
import { checkParser, loadParser, type ParserId } from './parsers.js';

const [id, passesArg] = process.argv.slice(2);
const passes = Number(passesArg);
if (id === undefined || !(Number.isInteger(passes) && passes > 0)) throw new Error('usage: count-loop.ts <parser-id> <passes>');

const parser = await loadParser(id as ParserId);
const problems = checkParser(parser);
if (problems.length > 0) throw new Error(`${id}: correctness check failed:\n  ${problems.join('\n  ')}`);

const texts = MIX.map((m) => m.text);
const run = parser.run;
let sink = 0;
for (let p = 0; p < passes; p++) {
  for (let i = 0; i < texts.length; i++) sink += run(texts[i]!);
}
// The sum is printed so that the work cannot be optimised away, and checked so that a parser producing nothing fails.
if (!(sink > 0)) throw new Error(`${id}: the parser produced nothing`);
console.log(`sink ${sink}`);
