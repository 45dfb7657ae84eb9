// Shared test helpers: temporary project folders, configs and the real CLI.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

import { generateDemoData } from '../pipelines/demo/generate.ts';
import { PROJECT_ROOT } from '../pipelines/paths.ts';

export const TANGO_BIN = path.join(PROJECT_ROOT, 'bin', 'tango.mjs');
export const TINY_FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tiny');

export function tempDir(prefix = 'tango-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A pid that existed and is now certainly gone: that of a child that has exited. */
export function exitedPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** Writes `config` as `<dir>/<name>` (YAML) and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'tango.config.yaml'): string {
  const file = path.join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** The synthetic shop's exports in `<dir>/sources/{crm,web,email}` (truth in `<dir>/truth`). */
export async function generateDemoSources(dir: string, options: { customers: number; seed: number; startDate: string; endDate: string }): Promise<void> {
  const sources = path.join(dir, 'sources');
  await generateDemoData({
    folders: { crm: path.join(sources, 'crm'), web: path.join(sources, 'web'), email: path.join(sources, 'email') },
    truthFolder: path.join(dir, 'truth'),
    ...options,
  });
}

/** A temp folder with a copy of the tiny fixture and a config pointing at it. */
export function tinyProject(overrides: Record<string, unknown> = {}): { dir: string; configFile: string; warehouse: string } {
  const dir = tempDir();
  cpSync(TINY_FIXTURE, path.join(dir, 'sources'), { recursive: true });
  const config = {
    warehouse: { path: 'warehouse.duckdb' },
    logs: { path: 'logs/tango.jsonl' },
    sources: [
      { name: 'crm', kind: 'crm_files', path: 'sources/crm' },
      { name: 'web', kind: 'web_files', path: 'sources/web' },
      { name: 'email', kind: 'email_files', path: 'sources/email' },
    ],
    ...overrides,
  };
  return { dir, configFile: writeConfig(dir, config), warehouse: path.join(dir, 'warehouse.duckdb') };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `tango` command; `onStart` gets the child, e.g. to signal it.
 * `fileSizeLimitKiB` runs it under the shell's `ulimit -f` with SIGXFSZ
 * ignored, so that a write past the limit fails (EFBIG) like on a full disk.
 */
export function runTango(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onStart?: (child: ReturnType<typeof spawn>) => void; fileSizeLimitKiB?: number } = {},
): Promise<CliResult> {
  const command = [process.execPath, TANGO_BIN, ...args];
  const limited = (limit: number) => ['bash', ['-c', `trap '' XFSZ; ulimit -f ${limit}; exec "$@"`, 'tango', ...command]] as const;
  const [program, programArgs] = options.fileSizeLimitKiB === undefined ? [command[0]!, command.slice(1)] : limited(options.fileSizeLimitKiB);
  return runProcess(program, [...programArgs], { env: { TANGO_WAREHOUSE: '', ...options.env }, onStart: options.onStart });
}

/** An `onStart` that kills the child (SIGKILL) as soon as `condition` holds, checked every `everyMs`. */
export function killWhen(condition: () => boolean, everyMs = 5): (child: ReturnType<typeof spawn>) => void {
  return (child) => {
    const poll = setInterval(() => {
      if (!condition()) return;
      clearInterval(poll);
      child.kill('SIGKILL');
    }, everyMs);
    child.on('exit', () => clearInterval(poll));
  };
}

/** Runs a program in the project folder with this process's environment plus `env`; its exit and output. */
export function runProcess(
  program: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onStart?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onStart?.(child);
  });
}
