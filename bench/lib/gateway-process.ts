/** Starts bench-gateway.ts as a child process and stops it again, for the sipp benchmarks. */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/e2e/support/ports.js';
import { suiteDir } from '../../test/e2e/support/processes.js';
import type { BenchGatewayMessage, BenchGatewayRequest } from './bench-gateway.js';

const script = fileURLToPath(new URL('./bench-gateway.ts', import.meta.url));
const benchDir = fileURLToPath(new URL('..', import.meta.url));

export interface GatewayProcessOptions {
  /** Names the data folder and test-output/<suite>/gateway.log. */
  suite: string;
  realm: string;
  password: string;
  users: string[];
  /** Environment variable with more Node flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=results/profile". */
  nodeArgsEnv: string;
}

export interface GatewayProcess {
  pid: number;
  udpPort: number;
  stop(): Promise<void>;
}

export async function startGatewayProcess(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `switchboard-${o.suite}-`));
  const logFd = openSync(join(suiteDir(o.suite), 'gateway.log'), 'w');
  const [sipPort, httpPort] = [await freePort(), await freePort()];
  const child: ChildProcess = fork(script, [dataDir, String(sipPort), String(httpPort), o.realm, o.password, ...o.users], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx', ...(process.env[o.nodeArgsEnv] ?? '').split(/\s+/).filter(Boolean)],
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  const ready = await new Promise<BenchGatewayMessage>((resolve, reject) => {
    child.once('message', (message: BenchGatewayMessage) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before it was ready; see test-output/${o.suite}/gateway.log`)));
  });
  if (ready.type !== 'ready') throw new Error(`the gateway did not start: ${ready.error}`);
  return {
    pid: child.pid!,
    udpPort: ready.udpPort,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' } satisfies BenchGatewayRequest);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
      closeSync(logFd);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
