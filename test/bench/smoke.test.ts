// The benchmark at two small sizes, end to end: a step that breaks at some
// size (like a batch of a thousand small files running out of memory) shows
// up here rather than only when someone runs `npm run bench` by hand. The
// figures themselves are not checked: speed targets are the benchmark's
// business, not a test's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../../pipelines/paths.ts';
import { runProcess, tempDir } from '../helpers.ts';

const SIZES = [200, 400];
const STEPS = [
  'generate',
  'extract crm_files',
  'extract web_files',
  'extract email_files',
  'transform (dbt build, full)',
  'clv fit and scoring (inside transform)',
  'export lists (all customers + per strategy, CSV + Parquet)',
  'extract files, daily run (the new days of every export)',
  'transform (dbt build, daily run)',
  'extract crm_postgres',
  'extract crm_api',
  'extract email_api',
];
const FILE_KINDS = ['crm_files', 'web_files', 'email_files'];

interface BenchJson {
  machine: { reference_seconds: { before: number; after: number } };
  sizes: number[];
  measurements: { step: string; size: number; seconds: number; rows?: number; peakRssMb: number }[];
  ratios: { size: number; kind: string; tangoSeconds: number; duckdbSeconds: number }[];
  extraction_parts: { size: number; kind: string; plain: { readSeconds: number }; storeSeconds: number }[];
  daily_runs: { size: number; days: number; rows: number; loadedRows: number }[];
  transform_nodes: { size: number; run: string; nodes: { node: string; seconds: number }[] }[];
  targets: { target: string; figure: string; met?: boolean }[];
}

describe('npm run bench', () => {
  it('runs every step at two sizes and prints its tables and targets', { timeout: 900_000 }, async () => {
    const jsonFile = path.join(tempDir('tango-bench-smoke-'), 'bench.json');
    // The report build is left out: it takes longer than all the rest, and test/e2e builds the site.
    const result = await runProcess(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'bench.mjs'), '--sizes', SIZES.join(','), '--skip-report', '--json', jsonFile]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);

    for (const heading of ['| machine reference', '| step | people |', '| growth with size', '| slowest dbt models and tests, full transform', '| slowest dbt models and tests, daily transform', '| ratio |', '| where file extraction time goes |', '| target | figure |']) {
      expect(result.stdout).toContain(heading);
    }
    const bench = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchJson;
    expect(bench.sizes).toEqual(SIZES);
    expect(bench.machine.reference_seconds.before).toBeGreaterThan(0);
    expect(bench.machine.reference_seconds.after).toBeGreaterThan(0);
    for (const size of SIZES) {
      for (const step of STEPS) {
        const measured = bench.measurements.find((m) => m.step === step && m.size === size);
        expect(measured, `${step} at ${size}`).toBeDefined();
        expect(measured!.seconds).toBeGreaterThan(0);
        expect(measured!.peakRssMb).toBeGreaterThan(0);
        if (step.startsWith('extract')) expect(measured!.rows, `${step} at ${size}: rows`).toBeGreaterThan(0);
      }
      for (const kind of FILE_KINDS) {
        const ratio = bench.ratios.find((r) => r.kind === kind && r.size === size);
        expect(ratio!.tangoSeconds).toBeGreaterThan(0);
        expect(ratio!.duckdbSeconds).toBeGreaterThan(0);
        const parts = bench.extraction_parts.find((p) => p.kind === kind && p.size === size);
        expect(parts!.plain.readSeconds).toBeGreaterThan(0);
        expect(parts!.storeSeconds).toBeGreaterThanOrEqual(0);
      }
      // The daily run brings the held-back days: some rows, far fewer than the full load.
      const daily = bench.daily_runs.find((run) => run.size === size)!;
      expect(daily.days).toBeGreaterThan(0);
      expect(daily.rows).toBeGreaterThan(0);
      expect(daily.rows).toBeLessThan(daily.loadedRows / 10);
      // Both transforms keep every model's and test's time: the staged web events among the models of each.
      for (const run of ['full', 'daily']) {
        const nodes = bench.transform_nodes.find((entry) => entry.size === size && entry.run === run)?.nodes ?? [];
        expect(nodes.map((entry) => entry.node), `${run} at ${size}`).toContain('staging.stg_web__events');
        expect(nodes.length, `${run} at ${size}`).toBeGreaterThan(100);
      }
    }
    // Two sizes: every step's memory growth is judged, none is left at "needs two sizes".
    expect(bench.targets.filter((target) => target.target.includes('peak memory flat')).map((target) => target.figure)).not.toContain('needs two sizes');
    expect(bench.targets.every((target) => target.figure.length > 0)).toBe(true);
  });
});
