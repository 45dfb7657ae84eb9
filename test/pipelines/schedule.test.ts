import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../pipelines/config.ts';
import { createLogger } from '../../pipelines/log.ts';
import { startScheduler } from '../../pipelines/schedule.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('scheduler', () => {
  it('never overlaps a job with itself, and stop() waits for the running job', async () => {
    const config = parseConfig(
      { schedule: { jobs: [{ name: 'every_second', cron: '* * * * * *', timezone: 'UTC', steps: ['extract'] }] } },
      '/project/tango.config.yaml',
    );
    let running = 0;
    let maxRunning = 0;
    let finished = 0;
    const scheduler = startScheduler(config, createLogger({ quiet: true }), async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(2500);
      running--;
      finished++;
      return undefined;
    });
    await sleep(3200);
    await scheduler.stop();
    // Ticks at every second for 3.2 s; the first job holds for 2.5 s, so the
    // ticks in between are skipped, never run alongside.
    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThanOrEqual(2);
  });

  it('stops the daemon on SIGTERM after its running job, leaving no run half-done', async () => {
    const { configFile, warehouse } = tinyProject({
      schedule: { jobs: [{ name: 'every_second', cron: '* * * * * *', timezone: 'UTC', steps: ['extract', 'transform'] }] },
    });
    const result = await runTango(['--config', configFile, 'schedule'], {
      onStart(child) {
        let seen = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes('transform: started') && !child.killed) child.kill('SIGTERM');
        });
      },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('scheduler: SIGTERM received, stopping');
    expect(result.stderr).toContain('waiting for 1 running job(s) to finish');
    expect(result.stderr).toContain('scheduler: stopped');

    const db = await openWarehouse(warehouse);
    try {
      const runs = await queryRows<{ status: string }>(db.connection, 'select status from _meta.pipeline_runs');
      expect(runs.length).toBeGreaterThanOrEqual(1);
      expect(runs.every((run) => run.status === 'succeeded')).toBe(true);
      const [cohorts] = await queryRows<{ n: bigint }>(db.connection, 'select count(*) as n from reports.rpt_cohort_retention_monthly');
      expect(cohorts?.n).toBe(5n);
    } finally {
      db.close();
    }
  });
});
