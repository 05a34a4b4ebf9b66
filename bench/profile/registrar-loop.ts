/**
 * The registrar's CPU cost per registration without sipp or a network namespace: the real gateway (demo config,
 * one registrar account, logging at info to /dev/null) in this process, and a closed-loop REGISTER client in a
 * child process (registrar-loop-client.ts) that keeps a window of registrations in flight, each a REGISTER, its
 * 401 and a REGISTER with MD5 digest credentials. CPU is this process's (all threads), so the client's is not in it.
 *
 * For comparing changes to the SIP stack quickly; the figures that count come from registrar.bench.ts, side by
 * side with Kamailio. Usage: node --import tsx profile/registrar-loop.ts [seconds] [window]
 * (add --cpu-prof to the node flags for a profile of the gateway side).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, demoConfig, start } from '@switchboard/gateway';
import pino from 'pino';
import { freePort } from '../../test/e2e/support/ports.js';

const seconds = Number(process.argv[2] ?? 5);
const window = Number(process.argv[3] ?? 32);
/** Registrations a second; 0 (the default) runs a closed loop of `window` in flight. */
const rate = Number(process.argv[4] ?? 0);
const PASSWORD = 'bench-secret';
const dataDir = mkdtempSync(join(tmpdir(), 'registrar-loop-'));
const config = demoConfig({
  cwd: dataDir,
  env: { LOOP_PASSWORD: PASSWORD },
  overrides: {
    http: { host: '127.0.0.1', port: await freePort() },
    sip: { host: '127.0.0.1', port: await freePort() },
    logging: { level: 'info' },
    registrar: { realm: 'example.com', accounts: { bench: { passwordEnv: 'LOOP_PASSWORD' } } },
  },
});
const gateway = await start(config, { logger: createLogger(config, pino.destination(openSync('/dev/null', 'w'))) });
const client = fork(fileURLToPath(new URL('./registrar-loop-client.ts', import.meta.url)), [String(gateway.sip.udp.port), PASSWORD, String(window), String(rate)], {
  execArgv: ['--import', 'tsx'],
});
type ClientReport = { type: 'count'; registrations: number; failures: number };
const ask = (): Promise<ClientReport> => new Promise((resolve) => {
  client.once('message', (message: ClientReport) => resolve(message));
  client.send('count');
});
await new Promise((resolve) => client.once('message', resolve)); // ready
await new Promise((resolve) => setTimeout(resolve, 1500)); // warm-up
/** CPU ticks of this process's main thread, and of all its other threads (GC helpers, libuv pool). */
function threadTicks(): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const task of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number(task) === process.pid) main += ticks;
    else others += ticks;
  }
  return { main, others };
}
const before = await ask();
const ticks0 = threadTicks();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const after = await ask();
const cpu = process.cpuUsage(cpu0);
const ticks1 = threadTicks();
const wall = (performance.now() - t0) / 1000;
const registrations = after.registrations - before.registrations;
const cpuS = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({
  registrations, failures: after.failures - before.failures, perSecond: Math.round(registrations / wall),
  perCpuSecond: Math.round(registrations / cpuS), cpuUs: Math.round((cpuS * 1e6) / registrations), systemShare: +(cpu.system / (cpu.user + cpu.system)).toFixed(2),
  otherThreadsShare: +((ticks1.others - ticks0.others) / (ticks1.main - ticks0.main + ticks1.others - ticks0.others)).toFixed(2),
}));
client.kill();
await gateway.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
