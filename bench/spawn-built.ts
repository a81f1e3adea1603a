import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The compiled `fencewire serve --role <role>` (run `npm run build` first) as a child process.
 * With BENCH_CPU_PROF=<dir> it writes a V8 CPU profile there when it stops (`node --cpu-prof`);
 * with BENCH_LOG_DIR=<dir>, its log.
 */
export async function spawnBuilt(env: Record<string, string>, role = 'ingest'): Promise<{ pid: number; httpPort: number; stop(): Promise<void> }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const logFile = process.env.BENCH_LOG_DIR ? createWriteStream(`${process.env.BENCH_LOG_DIR}/processor-${Date.now()}.log`) : null;
  // BENCH_NODE_ARGS: V8 flags NODE_OPTIONS does not take (e.g. --heap-growing-percent=30).
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...profile, ...nodeArgs, 'bin/fencewire.js', 'serve', '--role', role], {
    cwd: ROOT,
    // BENCH_NODE_OPTIONS: Node.js flags for the processor alone (e.g. --max-old-space-size).
    env: { ...process.env, ...env, LOG_LEVEL: 'info', NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      logFile?.write(chunk);
      output += chunk.toString();
      // Warnings and errors of the processor are part of what a benchmark reports.
      for (const line of chunk.toString().split('\n')) if (/"level":[4-6]\d/.test(line)) process.stderr.write(`processor: ${line}\n`);
      if (output.includes('fencewire started')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`fencewire exited with ${code} before it started: ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    pid: child.pid as number,
    httpPort: Number(/"httpPort":(\d+)/.exec(output)?.[1]),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
