// Crashes: the real `tango` process is killed with SIGKILL at random moments
// (a seeded random source, so a failure can be replayed): 10 times during
// `tango extract`, 10 times during `tango run --steps extract,transform`.
// After each kill the warehouse opens, every loaded file's rows are in the
// raw tables exactly as _meta.loaded_files counts them (a load is in or out,
// never half), and the transform's tables are all there as after an
// uninterrupted run, or none of them is. A last uninterrupted run then gives
// warehouse tables whose checksums equal those of a run never interrupted.
// A kill while a run folds its WAL into the warehouse lets the checkpoint
// process finish alone; a kill inside one of DuckDB's block writes, in the
// tango process of an extract or in the dbt of a transform (neither ever
// checkpoints), leaves a warehouse that opens, as before the run.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';

import { createRandom } from '../../pipelines/demo/random.ts';
import { readHolder } from '../../pipelines/lock.ts';
import { openWarehouse, queryRows, sqlIdentifier } from '../../pipelines/warehouse.ts';
import { generateDemoSources, runTango, tempDir, writeConfig } from '../helpers.ts';
import { faultClass } from './fault-class.ts';

const KILLS_PER_COMMAND = 10;
/** Whole-block writes of one transform torn in turn: all of them (14 for the 3,600 people here), or this many spread over its run. */
const TORN_TRANSFORM_WRITES = 16;
/** Columns that say when or by which run a row was made, not what it holds. */
const RUN_COLUMNS = ['_loaded_at', '_run_id', 'loaded_at', 'first_loaded_at', 'last_loaded_at', 'events_first_loaded_at', 'run_id', 'build_id', 'fitted_at', 'scored_at'];
/** What dbt and the clv step build, and what the extract loads. */
const CHECKED_SCHEMAS = ['raw_crm', 'raw_web', 'raw_email', 'raw_clv', 'seeds', 'staging', 'intermediate', 'marts', 'reports'];

/** One checksum per table: its row count and the sum of its rows' hashes (doubles rounded, so thread order cannot show). */
async function checksums(warehousePath: string): Promise<Record<string, string>> {
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    const columns = await queryRows<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(
      warehouse.connection,
      `select c.table_schema, c.table_name, c.column_name, c.data_type
       from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
       where t.table_type = 'BASE TABLE' and c.table_schema in (${CHECKED_SCHEMAS.map((schema) => `'${schema}'`).join(', ')})
       order by c.table_schema, c.table_name, c.ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const column of columns) {
      if (RUN_COLUMNS.includes(column.column_name)) continue;
      const name = `${column.table_schema}.${column.table_name}`;
      const quoted = sqlIdentifier(column.column_name);
      const value = ['DOUBLE', 'FLOAT'].includes(column.data_type) ? `round(${quoted}, 8)` : quoted;
      tables.set(name, [...(tables.get(name) ?? []), value]);
    }
    // The log of every fit (a pair of rows per transform, killed or not) is history, not state.
    tables.delete('raw_clv.model_fits');
    const result: Record<string, string> = {};
    for (const [table, values] of tables) {
      const [row] = await queryRows<{ digest: string }>(
        warehouse.connection,
        `select count(*) || ':' || coalesce(sum(hash(${values.join(', ')})::hugeint), 0) as digest from ${table}`,
      );
      result[table] = row!.digest;
    }
    return result;
  } finally {
    warehouse.close();
  }
}

/** The checksums of the tables the transform writes (dbt's schemas and the clv step's predictions), not the extract's. */
function builtBy(tables: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tables).filter(([table]) => !table.startsWith('raw_') || table === 'raw_clv.customer_predictions'));
}

/**
 * Every loaded file's rows are in its raw table, as counted when it was
 * loaded (append streams, which no later load changes), and every
 * quarantined row is on record. A kill before a table exists leaves it
 * uncounted as well.
 */
async function loadsAreWhole(warehousePath: string): Promise<{ stream: string; counted: bigint; stored: bigint }[]> {
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    const existing = new Set(
      (await queryRows<{ name: string }>(warehouse.connection, `select table_schema || '.' || table_name as name from information_schema.tables`)).map((row) => row.name),
    );
    if (!existing.has('_meta.loaded_files')) return [];
    const count = (table: string) => (existing.has(table) ? `(select count(*) from ${table})` : '0::bigint');
    return await queryRows(
      warehouse.connection,
      `select 'web.events' as stream, (select coalesce(sum(rows_loaded), 0) from _meta.loaded_files where source = 'web')::bigint as counted,
         ${count('raw_web.events')} as stored
       union all
       select 'email.events', (select coalesce(sum(rows_loaded), 0) from _meta.loaded_files where source = 'email' and stream = 'events')::bigint,
         ${count('raw_email.events')}
       union all
       select 'quarantine', (select coalesce(sum(rows_quarantined), 0) from _meta.loaded_files)::bigint, ${count('_meta.quarantine')}`,
    );
  } finally {
    warehouse.close();
  }
}

/** Processes still working for this test's warehouse: tango (its config is in the folder) or a dbt it started (its environment names the warehouse). */
function leftoverProcesses(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (args.includes(dir) || environment.includes(`TANGO_WAREHOUSE=${dir}`)) found.push(`${pid}: ${args}`);
    } catch {
      // Gone in the meantime, or not ours to read.
    }
  }
  return found;
}

/** The pid of the process folding this warehouse's WAL (pipelines/checkpoint-process.mjs), if one runs. */
function checkpointProcess(warehouse: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (args.includes('checkpoint-process') && args.includes(warehouse)) return Number(pid);
    } catch {
      // Gone in the meantime.
    }
  }
  return undefined;
}

/** Waits for the process folding this warehouse's WAL, if one runs, to end (it does by itself, in well under a minute here). */
async function checkpointEnded(warehouse: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (checkpointProcess(warehouse) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

faultClass('crashes', 'kill -9 at a random moment, then: the warehouse opens, loads are whole, the tables of the transform are all as after an uninterrupted run or none is; after a rerun every table checksum equals an uninterrupted run', () => {
  let dir: string;
  /** A config of the demo's three file sources in `<folder>/sources`, and its warehouse `<folder>/<name>.duckdb`. */
  const config = (name: string, folder = dir) => ({
    file: writeConfig(
      folder,
      {
        warehouse: { path: `${name}.duckdb` },
        logs: { path: `logs/${name}.jsonl` },
        sources: ['crm', 'web', 'email'].map((domain) => ({ name: domain, kind: `${domain}_files`, path: `sources/${domain}` })),
      },
      `${name}.yaml`,
    ),
    warehouse: path.join(folder, `${name}.duckdb`),
  });
  let reference: Record<string, string>;
  let durations: { extract: number; run: number };

  beforeAll(async () => {
    dir = tempDir('tango-crash-');
    await generateDemoSources(dir, { customers: 1500, seed: 7, startDate: '2024-01-01', endDate: '2025-06-30' });
    const clean = config('uninterrupted');
    let started = Date.now();
    const extracted = await runTango(['--config', clean.file, '--quiet', 'extract']);
    expect(extracted.code, extracted.stderr).toBe(0);
    const extractMs = Date.now() - started;
    started = Date.now();
    const transformed = await runTango(['--config', clean.file, '--quiet', 'run', '--steps', 'extract,transform']);
    expect(transformed.code, transformed.stderr).toBe(0);
    durations = { extract: extractMs, run: Date.now() - started };
    reference = await checksums(clean.warehouse);
  }, 600_000);

  const random = createRandom(20261201);
  const killed = () => config('killed');

  it.each(
    Array.from({ length: 2 * KILLS_PER_COMMAND }, (_, index) => {
      const command = index < KILLS_PER_COMMAND ? 'extract' : 'run';
      return [index + 1, command] as const;
    }),
  )('kill %i, during tango %s', async (_number, command) => {
    const target = killed();
    // Spread over the command's whole length in the uninterrupted run.
    const afterMs = Math.round(random.next() * (command === 'extract' ? durations.extract : durations.run));
    const args = command === 'extract' ? ['extract'] : ['run', '--steps', 'extract,transform'];
    const result = await runTango(['--config', target.file, '--quiet', ...args], {
      onStart: (child) => setTimeout(() => child.kill('SIGKILL'), afterMs),
    });
    // A kill that came after the end leaves a finished run, which is fine too.
    expect(result.signal === 'SIGKILL' || result.code === 0, `killed after ${afterMs} ms: ${result.stderr}`).toBe(true);
    // A checkpoint the run started finishes alone (foldWal); dbt dies with
    // its parent: then nothing keeps writing the warehouse.
    await checkpointEnded(target.warehouse);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leftoverProcesses(dir)).toEqual([]);
    for (const load of await loadsAreWhole(target.warehouse)) expect(load.stored, `${load.stream} after a kill at ${afterMs} ms`).toBe(load.counted);
    // What the transform builds is all there, as after an uninterrupted run, or none of it: never some models rebuilt and others not.
    const built = builtBy(await checksums(target.warehouse));
    if (Object.keys(built).length) expect(built, `the transform's tables after a kill at ${afterMs} ms`).toEqual(builtBy(reference));
  });

  it('a kill while the run folds its WAL into the warehouse: the checkpoint process finishes alone, holding the lock, and the next run goes on', async () => {
    const target = config('folding');
    let checkpointer: number | undefined;
    const result = await runTango(['--config', target.file, '--quiet', 'extract'], {
      onStart: (child) => {
        // Killed once the lock names the checkpoint process: from then on it folds, whatever happens to tango.
        const watch = setInterval(() => {
          checkpointer = checkpointProcess(target.warehouse);
          if (checkpointer === undefined || readHolder(`${target.warehouse}.lock`)?.sharedWith !== checkpointer) return;
          clearInterval(watch);
          child.kill('SIGKILL');
        }, 1);
        child.on('exit', () => clearInterval(watch));
      },
    });
    expect(result.signal, 'tango was killed while its checkpoint process ran').toBe('SIGKILL');
    expect(checkpointer).toBeDefined();
    await checkpointEnded(target.warehouse);
    // It finished the fold: no WAL is left, and the file alone holds every load.
    expect(existsSync(`${target.warehouse}.wal`)).toBe(false);
    const raw = (tables: Record<string, string>) => Object.fromEntries(Object.entries(tables).filter(([table]) => table.startsWith('raw_') && !table.startsWith('raw_clv')));
    expect(raw(await checksums(target.warehouse))).toEqual(raw(reference));
    const next = await runTango(['--config', target.file, '--quiet', 'extract']);
    expect(next.code, next.stderr).toBe(0);
  });

  // Needs a C compiler for the preloaded library; this machine's CI has one.
  const withoutCompiler = spawnSync('gcc', ['--version']).status !== 0;
  /** The preloaded library that tears a whole-block write (tear-block-write.c), compiled once. */
  const tearLibrary = (() => {
    let built: string | undefined;
    return () => {
      if (built) return built;
      const shim = path.join(dir, 'tear-block-write.so');
      const compiled = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, path.join(import.meta.dirname, 'tear-block-write.c'), '-ldl']);
      expect(compiled.status, compiled.stderr.toString()).toBe(0);
      return (built = shim);
    };
  })();
  /** Runs tango with the library tearing the `tearAt`th whole-block write to `warehouse` (0: none), counted afresh in `log`. */
  const runTearing = (args: string[], warehouse: string, tearAt: number, log: string, onStart?: (child: ChildProcess) => void) => {
    rmSync(log, { force: true });
    return runTango(args, { env: { LD_PRELOAD: tearLibrary(), TEAR_FILE: warehouse, TEAR_AT: String(tearAt), TEAR_LOG: log }, onStart });
  };
  const linesOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;

  it.skipIf(withoutCompiler)(
    'a kill inside any whole-block write of the tango process leaves a warehouse that opens with every load whole, and a rerun loads the rest',
    async () => {
      // One file of more rows than a row group (122,880): DuckDB writes them ahead into whole blocks of the file.
      const events = 300_000;
      mkdirSync(path.join(dir, 'torn-sources'));
      writeFileSync(
        path.join(dir, 'torn-sources', 'events.ndjson'),
        Array.from({ length: events }, (_, index) =>
          JSON.stringify({ event_id: `e${index}`, anonymous_id: `a${index % 5000}`, event_type: 'page_view', occurred_at: '2024-03-01T10:00:00Z', page_url: `/p/${index % 700}` }),
        ).join('\n') + '\n',
      );
      const file = writeConfig(dir, { warehouse: { path: 'torn.duckdb' }, logs: { path: 'logs/torn.jsonl' }, sources: [{ name: 'web', kind: 'web_files', path: 'torn-sources' }] }, 'torn.yaml');
      const warehouse = path.join(dir, 'torn.duckdb');
      const log = path.join(dir, 'torn-writes.log');
      const extract = (tearAt: number) => {
        for (const leftover of [warehouse, `${warehouse}.wal`]) rmSync(leftover, { force: true });
        return runTearing(['--config', file, '--quiet', 'extract'], warehouse, tearAt, log);
      };
      const counted = await extract(0);
      expect(counted.code, counted.stderr).toBe(0);
      const blockWrites = linesOf(log);
      expect(blockWrites, 'whole blocks the tango process wrote').toBeGreaterThan(0);
      for (let tearAt = 1; tearAt <= blockWrites; tearAt++) {
        const torn = await extract(tearAt);
        expect(torn.signal === 'SIGKILL' || torn.code === 0, `block write ${tearAt} of ${blockWrites} torn: ${torn.stderr}`).toBe(true);
        await checkpointEnded(warehouse);
        for (const load of await loadsAreWhole(warehouse)) expect(load.stored, `${load.stream} after block write ${tearAt} was torn`).toBe(load.counted);
        const rerun = await runTango(['--config', file, '--quiet', 'extract']);
        expect(rerun.code, rerun.stderr).toBe(0);
        const reopened = await openWarehouse(warehouse, { readOnly: true });
        try {
          const [loaded] = await queryRows<{ rows: bigint }>(reopened.connection, 'select count(*) as rows from raw_web.events');
          expect(loaded!.rows).toBe(BigInt(events));
        } finally {
          reopened.close();
        }
      }
    },
    600_000,
  );

  // dbt builds on a hard link of the warehouse (the same file): a checkpoint
  // in dbt, or a write into a block the warehouse uses, would show here.
  it.skipIf(withoutCompiler)(
    "a kill inside whole-block writes of a transform (dbt's or tango's, spread over the run) leaves the warehouse as before it, and a rerun builds the uninterrupted tables",
    async () => {
      // More web events than a row group (122,880: 4,000 people give about 140,000), so that dbt writes some of its tables ahead into whole blocks.
      const project = path.join(dir, 'torn-transform');
      await generateDemoSources(project, { customers: 4000, seed: 7, startDate: '2024-01-01', endDate: '2025-06-30' });
      const { file, warehouse } = config('torn', project);
      const extracted = await runTango(['--config', file, '--quiet', 'extract']);
      expect(extracted.code, extracted.stderr).toBe(0);
      await checkpointEnded(warehouse);
      expect(existsSync(`${warehouse}.wal`), 'the extract folded its WAL').toBe(false);
      const extractedCopy = path.join(project, 'extracted.duckdb');
      copyFileSync(warehouse, extractedCopy);
      const before = await checksums(warehouse);
      const log = path.join(project, 'block-writes.log');
      const transform = (tearAt: number, onStart?: (child: ChildProcess) => void) => {
        rmSync(`${warehouse}.wal`, { force: true });
        copyFileSync(extractedCopy, warehouse);
        return runTearing(['--config', file, '--quiet', 'transform'], warehouse, tearAt, log, onStart);
      };
      // Counting only: the uninterrupted transform, whose tables every torn one must equal or leave out.
      let tangoPid: number | undefined;
      const counted = await transform(0, (child) => (tangoPid = child.pid));
      expect(counted.code, counted.stderr).toBe(0);
      const built = builtBy(await checksums(warehouse));
      expect(Object.keys(built)).toContain('marts.dim_customers');
      const blockWrites = linesOf(log);
      const writers = new Set(readFileSync(log, 'utf8').trim().split('\n').map((line) => Number(line.split(/\s+/)[0])));
      expect([...writers].filter((pid) => pid !== tangoPid).length, 'dbt wrote whole blocks of the warehouse file').toBeGreaterThan(0);
      // A larger run would make too many to tear each in CI: then the first, the last, and evenly between.
      const positions = [...new Set(Array.from({ length: TORN_TRANSFORM_WRITES }, (_, index) => 1 + Math.round((index * (blockWrites - 1)) / (TORN_TRANSFORM_WRITES - 1))))];
      for (const tearAt of positions) {
        const torn = await transform(tearAt);
        const what = `block write ${tearAt} of ${blockWrites} torn`;
        // tango killed, or dbt killed and the transform failed; a run that made fewer writes this time ends well.
        expect(torn.signal === 'SIGKILL' || torn.code === 1 || torn.code === 0, `${what}: ${torn.stderr}`).toBe(true);
        await checkpointEnded(warehouse);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(leftoverProcesses(project)).toEqual([]);
        const after = await checksums(warehouse);
        if (torn.code === 0) expect(builtBy(after), what).toEqual(built);
        else expect(after, what).toEqual(before);
      }
      const rerun = await runTango(['--config', file, '--quiet', 'transform']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(builtBy(await checksums(warehouse))).toEqual(built);
    },
    900_000,
  );

  it('after the kills, a rerun gives the tables of the uninterrupted run', async () => {
    const target = killed();
    const rerun = await runTango(['--config', target.file, '--quiet', 'run', '--steps', 'extract,transform']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const after = await checksums(target.warehouse);
    expect(Object.keys(reference).length).toBeGreaterThan(40);
    expect(Object.keys(reference)).toContain('marts.dim_customers');
    expect(after).toEqual(reference);
    // The killed runs are on record as interrupted, not as running.
    const warehouse = await openWarehouse(target.warehouse, { readOnly: true });
    try {
      const [runs] = await queryRows<{ running: bigint; succeeded: bigint }>(
        warehouse.connection,
        `select count(*) filter (where status = 'running') as running, count(*) filter (where status = 'succeeded') as succeeded from _meta.pipeline_runs`,
      );
      expect(runs!.running).toBe(0n);
      expect(Number(runs!.succeeded)).toBeGreaterThanOrEqual(1);
    } finally {
      warehouse.close();
    }
  }, 600_000);
});
