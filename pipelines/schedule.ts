// The scheduler daemon: runs the configured jobs on their cron schedules.
// Jobs were validated with the config (cron syntax and IANA timezone). A job
// never overlaps itself; a job that finds the warehouse busy is skipped and
// logged. stop() lets the job in flight finish, so a SIGTERM never leaves a
// half-written warehouse.
import cron, { type ScheduledTask } from 'node-cron';

import type { Config, JobConfig } from './config.ts';
import { LockHeldError } from './lock.ts';
import type { Logger } from './log.ts';
import { runPipeline, type RunResult } from './pipeline.ts';

export type JobRunner = (job: JobConfig) => Promise<RunResult | undefined>;

export interface Scheduler {
  /** Stops scheduling and resolves once the jobs in flight have finished. */
  stop(): Promise<void>;
  nextRuns(jobName: string, count: number): Date[];
}

function formatInZone(date: Date, timezone: string): string {
  return `${date.toISOString()} (${date.toLocaleString('sv-SE', { timeZone: timezone })} ${timezone})`;
}

export function defaultJobRunner(config: Config, log: Logger): JobRunner {
  return async (job) => {
    try {
      return await runPipeline({ config, steps: job.steps, log: log.child({ job: job.name }), command: `tango schedule (job ${job.name})` });
    } catch (error) {
      if (error instanceof LockHeldError) {
        log.warn(`job ${job.name} skipped: ${error.message}`, { job: job.name });
        return undefined;
      }
      throw error;
    }
  };
}

export function startScheduler(config: Config, log: Logger, runJob: JobRunner = defaultJobRunner(config, log)): Scheduler {
  const jobs = config.schedule.jobs;
  if (jobs.length === 0) throw new Error(`No jobs to schedule: add schedule.jobs to ${config.file}`);
  const inFlight = new Set<Promise<unknown>>();
  const tasks = new Map<string, ScheduledTask>();

  for (const job of jobs) {
    const task = cron.schedule(
      job.cron,
      async () => {
        log.info(`job ${job.name}: starting ${job.steps.join(' -> ')}`, { job: job.name });
        const execution = runJob(job)
          .then((result) => {
            if (result) log.info(`job ${job.name}: ${result.status} (run ${result.runId})`, { job: job.name, run_id: result.runId });
          })
          .catch((error: Error) => log.error(`job ${job.name} failed: ${error.message}`, { job: job.name }))
          .finally(() => {
            inFlight.delete(execution);
            const next = task.getNextRun();
            if (next) log.info(`job ${job.name}: next run ${formatInZone(next, job.timezone)}`, { job: job.name });
          });
        inFlight.add(execution);
        await execution;
      },
      {
        name: job.name,
        timezone: job.timezone,
        noOverlap: true,
        // node-cron's own messages go to the log file; overlaps are reported above.
        logger: {
          info: (message) => log.debug(message, { job: job.name }),
          warn: (message) => log.debug(message, { job: job.name }),
          error: (message) => log.error(String(message), { job: job.name }),
          debug: (message) => log.debug(String(message), { job: job.name }),
        },
      },
    );
    task.on('execution:overlap', () => log.warn(`job ${job.name}: still running from its last start; this start is skipped`, { job: job.name }));
    tasks.set(job.name, task);
    const next = task.getNextRuns(3).map((date) => formatInZone(date, job.timezone));
    log.info(`job ${job.name} (${job.cron}, ${job.timezone}): next runs ${next.join(', ')}`, { job: job.name });
  }

  return {
    async stop() {
      for (const task of tasks.values()) await task.stop();
      if (inFlight.size) log.info(`waiting for ${inFlight.size} running job(s) to finish before exiting`);
      await Promise.allSettled([...inFlight]);
      for (const task of tasks.values()) await task.destroy();
    },
    nextRuns(jobName, count) {
      return tasks.get(jobName)?.getNextRuns(count) ?? [];
    },
  };
}
