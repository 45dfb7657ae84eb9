// Runs the external tools (dbt, Evidence) as child processes: their output goes
// line by line to the log, progress is shown from it, and a failure carries
// the last lines of output in its message.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import type { Logger } from './log.ts';

const running = new Set<ChildProcess>();

/** Asks every running child to stop (used on SIGINT/SIGTERM). */
export function terminateChildren(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of running) child.kill(signal);
}

export interface ChildOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Called with each output line, e.g. to show progress. */
  onLine?: (line: string) => void;
  /** What the error message calls the tool. */
  label: string;
}

export async function runChild(command: string, args: string[], options: ChildOptions): Promise<void> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const tail: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.log.debug(line, { tool: options.label });
      options.onLine?.(line);
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  }).finally(() => running.delete(child));
  if (code !== 0) {
    const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
    throw new Error(`${options.label} ${how}. Last output:\n${tail.join('\n')}`);
  }
}
