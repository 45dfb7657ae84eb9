// Runs the external tools (dbt, Evidence) as child processes: their output goes
// line by line to the log, progress is shown from it, and a failure carries
// the last lines of output in its message.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import type { Logger } from './log.ts';
import { VENV_DIR } from './paths.ts';

const VENV_PYTHON = path.join(VENV_DIR, 'bin', 'python');

/**
 * Starts a command so that it dies with this process: on Linux the kernel
 * sends it SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG, kept across
 * exec). Without it, a `kill -9` of tango would leave dbt writing the
 * warehouse while the next run starts. Elsewhere the command runs as is.
 */
const DIE_WITH_PARENT = `
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(137)  # the parent died before prctl took effect
if sys.argv[2] == 'ignore-interrupt':
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # kept across exec
os.execv(sys.argv[3], sys.argv[3:])
`;

function launch(command: string, args: string[], ignoreInterrupt: boolean): [string, string[]] {
  if (process.platform !== 'linux' || !existsSync(VENV_PYTHON)) return [command, args];
  return [VENV_PYTHON, ['-c', DIE_WITH_PARENT, String(process.pid), ignoreInterrupt ? 'ignore-interrupt' : 'interruptible', command, ...args]];
}

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
  /**
   * The child ignores SIGINT (Ctrl-C reaches the whole process group): this
   * process stops it with SIGTERM instead (exitOnStopSignals), which ends a
   * Python tool at once rather than through its clean-up.
   */
  ignoreInterrupt?: boolean;
}

export async function runChild(command: string, args: string[], options: ChildOptions): Promise<void> {
  const child = spawn(...launch(command, args, options.ignoreInterrupt ?? false), {
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
