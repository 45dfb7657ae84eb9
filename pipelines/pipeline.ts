// Orchestration: extract -> transform -> report, in sequence, because DuckDB
// allows one writing process per file. Every run is recorded in
// _meta.pipeline_runs with its step timings and per-stream row counts.
//
// Locks: the warehouse lock is held while anything may write the warehouse
// (extract, dbt, the snapshot, the run record). The Evidence build reads only
// the snapshot, so it runs under a separate report lock after the warehouse
// lock is released: the next extract can start while a report builds.
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { terminateChildren } from './child.ts';
import type { Config, StepName } from './config.ts';
import { acquireLock, isFinishing, LockHeldError, releaseAllLocks, type Lock } from './lock.ts';
import type { Logger } from './log.ts';
import { REPORTS_DIR } from './paths.ts';
import { buildSite, snapshotWarehouse } from './report.ts';
import { extractSource } from './sources/extract.ts';
import type { StreamCounts } from './sources/types.ts';
import { transform } from './transform.ts';
import { applyMetaContract, foldWal, openWarehouse } from './warehouse.ts';

export interface StepTiming {
  step: StepName;
  started_at: string;
  ended_at: string;
  seconds: number;
  status: 'succeeded' | 'failed';
  error?: string;
}

export interface RunResult {
  runId: string;
  status: 'succeeded' | 'failed';
  steps: StepTiming[];
  streams: StreamCounts[];
  error?: string;
}

export interface RunOptions {
  config: Config;
  steps: readonly StepName[];
  log: Logger;
  /** How the run was started, for the run log and the lock holder. */
  command: string;
  /** Only these sources (extract step). */
  sources?: readonly string[];
  /** Extract: reload the streams from scratch; transform: rebuild the incremental models. */
  fullRefresh?: boolean;
  /** Transform: also run dbt's unit tests (see `transform`). */
  unitTests?: boolean;
  /** How long to wait for a lock held by a live process; 0 refuses at once. */
  lockWaitMs?: number;
}

export class StepFailedError extends Error {
  override name = 'StepFailedError';
}

export function warehouseLockPath(config: Config): string {
  return `${config.warehousePath}.lock`;
}

const REPORT_LOCK_PATH = path.join(REPORTS_DIR, '.build.lock');

function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;
}

/**
 * Takes a lock, waiting up to `waitMs` for a live holder to let go, and for
 * as long as it takes for the checkpoint a stopped run left running
 * (foldWal) to end.
 */
async function takeLock(lockPath: string, command: string, log: Logger, waitMs: number): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return acquireLock(lockPath, command, (stale) =>
        log.warn(`took over a stale lock ${lockPath} left by pid ${stale.pid} ("${stale.command}", started ${stale.startedAt})`),
      );
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      const finishing = isFinishing(error.holder);
      if (!finishing && Date.now() >= deadline) throw error;
      if (!told) {
        log.info(
          finishing
            ? `waiting for the checkpoint (pid ${error.holder.sharedWith}) that the stopped run pid ${error.holder.pid} ("${error.holder.command}") left running to end`
            : `waiting for pid ${error.holder.pid} ("${error.holder.command}") to release ${lockPath}`,
        );
      }
      told = true;
      await new Promise((resolve) => setTimeout(resolve, finishing ? 50 : 500));
    }
  }
}

/** Runs `work` holding the warehouse lock (for a command that is not a pipeline step). */
export async function withWarehouseLock<T>(config: Config, command: string, log: Logger, work: () => Promise<T>): Promise<T> {
  const lock = await takeLock(warehouseLockPath(config), command, log, 0);
  try {
    const result = await work();
    await foldWalOrWarn(config.warehousePath, log);
    return result;
  } finally {
    lock.release();
  }
}

/**
 * Folds what the run committed (in the WAL) into the warehouse file. Failing
 * (a full disk), it loses nothing: the WAL stays, every reader replays it,
 * and the next run folds it; so it is a warning, not a failed run.
 */
async function foldWalOrWarn(warehousePath: string, log: Logger): Promise<void> {
  try {
    await foldWal(warehousePath);
  } catch (error) {
    log.warn((error as Error).message);
  }
}

async function recordRun(config: Config, runId: string, fields: Record<string, unknown>, isStart: boolean, command: string, steps: readonly StepName[]) {
  const warehouse = await openWarehouse(config.warehousePath);
  try {
    await applyMetaContract(warehouse.connection);
    if (isStart) {
      // Runs still marked running were cut off (their lock was stale).
      await warehouse.connection.run(`update _meta.pipeline_runs set status = 'interrupted', ended_at = now()::timestamp where status = 'running'`);
      await warehouse.connection.run(
        `insert into _meta.pipeline_runs (run_id, command, steps, started_at, status) values ($run, $command, $steps::varchar[], now()::timestamp, 'running')`,
        { run: runId, command, steps: `[${steps.join(',')}]` },
      );
    } else {
      await warehouse.connection.run(
        `update _meta.pipeline_runs set ended_at = now()::timestamp, status = $status, error = $error,
           step_timings = $steps::json, stream_counts = $streams::json
         where run_id = $run`,
        {
          run: runId,
          status: String(fields.status),
          error: (fields.error as string | undefined) ?? null,
          steps: JSON.stringify(fields.steps),
          streams: JSON.stringify(fields.streams),
        },
      );
    }
  } finally {
    warehouse.close();
  }
}

function stepTiming(step: StepName, started: Date, error?: Error): StepTiming {
  const ended = new Date();
  return {
    step,
    started_at: started.toISOString(),
    ended_at: ended.toISOString(),
    seconds: (ended.getTime() - started.getTime()) / 1000,
    status: error ? 'failed' : 'succeeded',
    ...(error ? { error: error.message } : {}),
  };
}

function logStepDone(timing: StepTiming, log: Logger): void {
  if (timing.status === 'succeeded') log.info(`${timing.step}: done in ${timing.seconds.toFixed(1)} s`, { step: timing.step, seconds: timing.seconds });
}

async function timed(step: StepName, timings: StepTiming[], log: Logger, work: () => Promise<void>): Promise<void> {
  const started = new Date();
  log.info(`${step}: started`);
  try {
    await work();
  } catch (error) {
    timings.push(stepTiming(step, started, error as Error));
    throw error;
  }
  const timing = stepTiming(step, started);
  timings.push(timing);
  logStepDone(timing, log);
}

async function extractAll(options: RunOptions, runId: string, streams: StreamCounts[]): Promise<void> {
  const { config, log } = options;
  const selected = options.sources?.length ? config.sources.filter((source) => options.sources!.includes(source.name)) : config.sources;
  const unknown = (options.sources ?? []).filter((name) => !config.sources.some((source) => source.name === name));
  if (unknown.length) throw new StepFailedError(`unknown source(s) ${unknown.join(', ')}; the config has ${config.sources.map((s) => s.name).join(', ')}`);
  const warehouse = await openWarehouse(config.warehousePath);
  try {
    for (const source of selected) {
      const counts = await extractSource({ connection: warehouse.connection, runId, log, fullRefresh: options.fullRefresh }, source);
      streams.push(...counts);
      for (const stream of counts) {
        if (stream.error) continue;
        log.info(
          `extract: ${stream.source}.${stream.stream}: ${stream.files_loaded} file(s) loaded, ${stream.files_skipped} already loaded; ` +
            `rows read ${stream.rows_read}, loaded ${stream.rows_loaded}, quarantined ${stream.rows_quarantined}`,
        );
      }
    }
  } finally {
    warehouse.close();
  }
  const failed = streams.filter((stream) => stream.error);
  if (failed.length) throw new StepFailedError(failed.map((stream) => stream.error).join('\n'));
}

/**
 * Runs the given steps in order and records the run. Throws LockHeldError when
 * another process holds the warehouse (nothing is recorded then); otherwise
 * returns the result, failed or not.
 */
export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const { config, log } = options;
  const runId = newRunId();
  const runLog = log.child({ run_id: runId });
  const timings: StepTiming[] = [];
  const streams: StreamCounts[] = [];
  let failure: Error | undefined;
  const wantReportBuild = options.steps.includes('report');

  const warehouseLock = await takeLock(warehouseLockPath(config), options.command, runLog, options.lockWaitMs ?? 0);
  const finishRecord = async () => {
    const result: RunResult = {
      runId,
      status: failure ? 'failed' : 'succeeded',
      steps: timings,
      streams,
      ...(failure ? { error: failure.message } : {}),
    };
    await recordRun(config, runId, { ...result }, false, options.command, options.steps);
    await foldWalOrWarn(config.warehousePath, runLog);
    return result;
  };

  try {
    await recordRun(config, runId, {}, true, options.command, options.steps);
    runLog.info(`run ${runId}: ${options.steps.join(' -> ')} on ${config.warehousePath}`);
    for (const step of options.steps) {
      if (step === 'extract') await timed(step, timings, runLog, () => extractAll(options, runId, streams));
      if (step === 'transform') await timed(step, timings, runLog, () => transform(config.warehousePath, runId, runLog, { fullRefresh: options.fullRefresh, unitTests: options.unitTests }));
      if (step === 'report') break; // after the warehouse lock is released, below
    }
  } catch (error) {
    failure = error as Error;
  }

  if (failure || !wantReportBuild) {
    try {
      return await finishRecord();
    } finally {
      warehouseLock.release();
    }
  }

  // Report: snapshot under the warehouse lock, build under the report lock only.
  const reportStarted = new Date();
  runLog.info('report: started');
  try {
    const tables = await snapshotWarehouse(config.warehousePath);
    runLog.info(`report: snapshot of ${tables} table(s) taken`);
  } catch (error) {
    failure = error as Error;
  }
  warehouseLock.release();
  if (!failure) {
    let reportLock: Lock | undefined;
    try {
      reportLock = await takeLock(REPORT_LOCK_PATH, options.command, runLog, 30 * 60_000);
      await buildSite(runLog);
    } catch (error) {
      failure = error as Error;
    } finally {
      reportLock?.release();
    }
  }
  const reportTiming = stepTiming('report', reportStarted, failure);
  timings.push(reportTiming);
  logStepDone(reportTiming, runLog);

  // The run record is a warehouse write: wait for the lock, which the next
  // run may hold for a while.
  const recordLock = await takeLock(warehouseLockPath(config), options.command, runLog, 60 * 60_000);
  try {
    return await finishRecord();
  } finally {
    recordLock.release();
  }
}

/**
 * For one-shot commands: on SIGINT/SIGTERM stop the child tools, release the
 * locks and exit. A DuckDB transaction in flight is never committed, so the
 * warehouse keeps its state from before the file being loaded; the run stays
 * marked running until the next run marks it interrupted.
 */
export function exitOnStopSignals(log: Logger): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.warn(`${signal} received: stopping; the load in flight is rolled back`);
      terminateChildren();
      releaseAllLocks();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}
