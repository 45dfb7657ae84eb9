// `npm run bench -- --sizes 10000,100000 [--json FILE]`: generates the demo
// shop at each size and times each step as the real `tango` process, with the
// peak memory of its process tree; then the ratios against DuckDB reading the
// same files itself, the growth of time and memory with size, and each speed
// target of the issues with its figure, met or not met.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, version as duckdbVersion } from '@duckdb/node-api';
import pg from 'pg';
import { stringify } from 'yaml';

import { loadCrmIntoPostgres } from '../pipelines/demo/postgres.ts';
import { crmFiles } from '../pipelines/sources/crm_files/index.ts';
import { DBT_EXECUTABLE, PROJECT_ROOT } from '../pipelines/paths.ts';
import { dbtEnvironment } from '../pipelines/transform.ts';
import { openWarehouse, queryRows, sqlIdentifier, sqlString } from '../pipelines/warehouse.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { startBenchApi } from './api-server.ts';
import { bringBack, holdBackNewestDays, restoreExports } from './daily.ts';

const TANGO = path.join(PROJECT_ROOT, 'bin', 'tango.mjs');
const PG_ENV = 'TANGO_BENCH_CRM_DATABASE_URL';
const API_TOKEN_ENV = 'TANGO_BENCH_API_TOKEN';
/** The share of the web events held back for the daily run (the newest days, and the CRM and email rows of those days). */
const DAILY_SHARE = 0.01;
/** Rows of the machine reference: the same at every size, so that its time measures the machine only. */
const REFERENCE_ROWS = 10_000_000;

interface Measurement {
  step: string;
  size: number;
  seconds: number;
  rows?: number;
  peakRssMb: number;
}

/** Resident memory of a process and all its descendants (Linux /proc), in MB. */
function treeRssMb(rootPid: number): number {
  let total = 0;
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const parent = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      rss.set(pid, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      children.set(parent, [...(children.get(parent) ?? []), pid]);
    } catch {
      // gone in the meantime
    }
  }
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}


/** Runs `tango` with the arguments; wall time and peak RSS of its process tree. */
async function timeTango(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; peakRssMb: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [TANGO, '--quiet', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, treeRssMb(child.pid!))), 200);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`tango ${args.join(' ')} failed (${code}): ${stderr.slice(-2000)}`);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: peak };
}

/** Customers in the marketers' list, the rows of the largest exported list. */
async function listedCustomers(warehouse: string): Promise<number> {
  const db = await openWarehouse(warehouse, { readOnly: true });
  try {
    const [row] = await queryRows<{ n: bigint }>(db.connection, 'select count(*) as n from reports.rpt_customer_list');
    return Number(row?.n ?? 0);
  } finally {
    db.close();
  }
}

async function lastRunRows(warehouse: string): Promise<number> {
  const db = await openWarehouse(warehouse, { readOnly: true });
  try {
    const [run] = await queryRows<{ stream_counts: string }>(db.connection, 'select stream_counts from _meta.pipeline_runs order by started_at desc limit 1');
    const streams = JSON.parse(run?.stream_counts ?? '[]') as { rows_read: number }[];
    return streams.reduce((sum, stream) => sum + stream.rows_read, 0);
  } finally {
    db.close();
  }
}

/** What the last transform logged: the clv step's own time, and each dbt model's and test's time, slowest first. */
function transformLog(logFile: string): { clv?: { buyers: number; seconds: number }; nodes: { node: string; seconds: number }[] } {
  const events = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { message: string; run_id?: string; clv_buyers?: number; clv_seconds?: number });
  const runId = events.filter((event) => event.message.startsWith('transform')).at(-1)?.run_id;
  const ofRun = events.filter((event) => event.run_id === runId);
  const clvEvent = ofRun.find((event) => event.clv_seconds !== undefined);
  const nodes = ofRun.flatMap((event) => {
    const done = /\d+ of \d+ (?:OK created sql \w+ model|PASS|WARN) (\S+)\s.*\[\w+(?: \d+)? in ([\d.]+)s\]/.exec(event.message);
    return done ? [{ node: done[1]!, seconds: Number(done[2]) }] : [];
  });
  return {
    clv: clvEvent ? { buyers: clvEvent.clv_buyers!, seconds: clvEvent.clv_seconds! } : undefined,
    nodes: nodes.sort((a, b) => b.seconds - a.seconds),
  };
}

/** The layers a transform's time is split into: dbt's model schemas, its data tests, and the rest. */
const TRANSFORM_LAYERS = ['staging', 'intermediate', 'marts', 'reports', 'tests', 'outside dbt nodes'] as const;
type TransformLayer = (typeof TRANSFORM_LAYERS)[number];

/**
 * Where a transform's wall time went, by layer: each model by its schema,
 * each data test, and what no node accounts for (the process and dbt
 * starts, the clv step between dbt's passes, seeds, the commit).
 */
function transformLayers(nodes: { node: string; seconds: number }[], wallSeconds: number): Record<TransformLayer, number> {
  const layers = Object.fromEntries(TRANSFORM_LAYERS.map((layer) => [layer, 0])) as Record<TransformLayer, number>;
  for (const { node, seconds } of nodes) {
    const schema = node.includes('.') ? node.split('.')[0]! : 'tests';
    layers[(TRANSFORM_LAYERS as readonly string[]).includes(schema) ? (schema as TransformLayer) : 'outside dbt nodes'] += seconds;
  }
  layers['outside dbt nodes'] += wallSeconds - nodes.reduce((sum, node) => sum + node.seconds, 0);
  return layers;
}

/** The wall seconds `work` takes. */
async function secondsTaken(work: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const FILE_KINDS = ['crm', 'web', 'email'] as const;
type FileKind = (typeof FILE_KINDS)[number];

/** What DuckDB alone takes for a source kind's files. */
interface PlainRead {
  /** Reading them into tables. */
  seconds: number;
  /** Reading them only: every column of every row, nothing stored. */
  readSeconds: number;
  rows: number;
}

/** DuckDB reading the same export files itself (typed, sniffed), into tables, per source kind: the physical limit. */
async function duckdbReadsTheFiles(sources: string, dir: string): Promise<Record<FileKind, PlainRead>> {
  const instance = await DuckDBInstance.create(path.join(dir, 'plain.duckdb'));
  const connection = await instance.connect();
  const load = async (name: string, reader: string) => {
    await connection.run(`create table ${name} as select * from ${reader}`);
    const [count] = await queryRows<{ n: bigint }>(connection, `select count(*) as n from ${name}`);
    return Number(count?.n ?? 0);
  };
  const readers: Record<FileKind, [string, string][]> = {
    // One generated file per crm_files stream, named after it.
    crm: crmFiles.streams.map(({ name: entity }) => [
      entity,
      `read_csv(${sqlString(path.join(sources, 'crm', `${entity}.csv`))}, ignore_errors = true)`,
    ]),
    web: [['web_events', `read_json(${sqlString(path.join(sources, 'web', '*', 'events.ndjson.gz'))}, format = 'newline_delimited', ignore_errors = true)`]],
    email: [
      ['campaigns', `read_csv(${sqlString(path.join(sources, 'email', 'campaigns.csv'))}, ignore_errors = true)`],
      ['email_events', `read_csv(${sqlString(path.join(sources, 'email', 'email_events-*.csv'))}, ignore_errors = true, union_by_name = true)`],
    ],
  };
  const result = {} as Record<FileKind, PlainRead>;
  for (const kind of FILE_KINDS) {
    // A hash of every column, so that the reader cannot leave any out.
    const readSeconds = await secondsTaken(async () => {
      for (const [, reader] of readers[kind]) await connection.run(`select sum(hash(columns(*))) from ${reader}`);
    });
    let rows = 0;
    const seconds = await secondsTaken(async () => {
      for (const [name, reader] of readers[kind]) rows += await load(name, reader);
    });
    result[kind] = { seconds, readSeconds, rows };
  }
  connection.closeSync();
  instance.closeSync();
  return result;
}

/**
 * DuckDB writing the rows Tango loaded from a source kind's files into new
 * tables of a database of its own (from the raw tables, attached read-only):
 * the cost of storing those rows alone, which every load pays whatever it
 * does before.
 */
async function duckdbWritesTheLoadedRows(warehouse: string, dir: string): Promise<Record<FileKind, number>> {
  const instance = await DuckDBInstance.create(path.join(dir, 'rewrite.duckdb'));
  const connection = await instance.connect();
  await connection.run(`attach ${sqlString(warehouse)} as loaded (read_only)`);
  const result = {} as Record<FileKind, number>;
  for (const kind of FILE_KINDS) {
    const tables = await queryRows<{ name: string }>(
      connection,
      `select table_name as name from duckdb_tables() where database_name = 'loaded' and schema_name = ${sqlString(`raw_${kind}`)} order by name`,
    );
    result[kind] = await secondsTaken(async () => {
      for (const { name } of tables) await connection.run(`create table ${sqlIdentifier(`${kind}_${name}`)} as select * from loaded.${sqlIdentifier(`raw_${kind}`)}.${sqlIdentifier(name)}`);
    });
  }
  connection.closeSync();
  instance.closeSync();
  return result;
}

/**
 * The same DuckDB work at every run, whatever the sizes: rows written to a
 * file of their own, grouped, sorted and checkpointed, the kind of work a
 * transform is made of. Its seconds measure the machine at the time (this
 * project's 2-core machine has run the same code twice as slow on one day as
 * on another), so that the figures of runs on different days or machines
 * can be set side by side. Run first and last: a change between the two
 * says the machine changed speed during the run.
 */
async function machineReference(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tango-bench-reference-'));
  try {
    const instance = await DuckDBInstance.create(path.join(dir, 'reference.duckdb'));
    const connection = await instance.connect();
    try {
      return await secondsTaken(async () => {
        await connection.run(`create table numbers as select i, hash(i) % 1000003 as bucket, md5(i::varchar) as label from range(${REFERENCE_ROWS}) as t(i)`);
        await connection.run('create table buckets as select bucket, count(*) as numbers, sum(i) as total from numbers group by bucket');
        await connection.run('create table ordered as select * from numbers order by label');
        await connection.run('checkpoint');
      });
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ManifestModel {
  unique_id: string;
  resource_type: string;
  schema: string;
  alias: string;
  original_file_path: string;
  config: { materialized: string };
  depends_on: { nodes: string[] };
}

/**
 * dbt against DuckDB running the same SQL itself: `dbt run --full-refresh`
 * (every model, no tests) on one copy of the transformed warehouse, then each model's SQL
 * as dbt compiled it, in dependency order, as `create or replace` on another
 * copy in one DuckDB connection with the profile's settings. The difference
 * is what dbt costs on top of the queries. Both copies sit in folders of
 * their own under the same file name, so the compiled SQL's database name
 * fits both.
 */
async function dbtAgainstPlainDuckdb(warehouse: string, dir: string): Promise<{ dbtSeconds: number; plainSeconds: number; models: number }> {
  const copyTo = (folder: string) => {
    const file = path.join(dir, folder, path.basename(warehouse));
    mkdirSync(path.dirname(file), { recursive: true });
    copyFileSync(warehouse, file);
    return file;
  };
  // One copy at a time, each removed once measured: at 1 M people a copy grows to about 14 GB.
  const removeCopy = (file: string) => ['', '.wal'].forEach((suffix) => rmSync(`${file}${suffix}`, { force: true }));
  const viaDbt = copyTo('via-dbt');
  const environment = dbtEnvironment(viaDbt);
  // A full refresh: the incremental models' compiled SQL is then their full build, as the plain run needs.
  const dbtSeconds = await secondsTaken(() =>
    execFileSync(DBT_EXECUTABLE, ['run', '--full-refresh'], { cwd: PROJECT_ROOT, env: { ...process.env, ...environment }, stdio: 'ignore' }),
  );
  removeCopy(viaDbt);
  const plain = copyTo('plain');

  const targetPath = environment.DBT_TARGET_PATH!;
  const manifest = JSON.parse(readFileSync(path.join(targetPath, 'manifest.json'), 'utf8')) as { nodes: Record<string, ManifestModel> };
  const models = Object.values(manifest.nodes).filter((node) => node.resource_type === 'model');
  const ordered: ManifestModel[] = [];
  const placed = new Set<string>();
  const place = (model: ManifestModel) => {
    if (placed.has(model.unique_id)) return;
    placed.add(model.unique_id);
    for (const parent of model.depends_on.nodes) if (manifest.nodes[parent]?.resource_type === 'model') place(manifest.nodes[parent]!);
    ordered.push(model);
  };
  models.forEach(place);

  const db = await openWarehouse(plain);
  try {
    await db.connection.run(`set memory_limit = '8GB'; set preserve_insertion_order = false`);
    const plainSeconds = await secondsTaken(async () => {
      for (const model of ordered) {
        const compiled = readFileSync(path.join(targetPath, 'compiled', 'tango', model.original_file_path), 'utf8');
        const kind = model.config.materialized === 'view' ? 'view' : 'table';
        await db.connection.run(`create or replace ${kind} "${model.schema}"."${model.alias}" as ${compiled}`);
      }
    });
    return { dbtSeconds, plainSeconds, models: ordered.length };
  } finally {
    db.close();
    removeCopy(plain);
  }
}

/** Least-squares slope of log(value) on log(size): 1 is linear growth, 0 is flat. */
function exponent(points: { size: number; value: number }[]): number | undefined {
  const usable = points.filter((point) => point.value > 0);
  if (usable.length < 2) return undefined;
  const xs = usable.map((point) => Math.log(point.size));
  const ys = usable.map((point) => Math.log(point.value));
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  const covariance = xs.reduce((sum, x, index) => sum + (x - meanX) * (ys[index]! - meanY), 0);
  const variance = xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0);
  return covariance / variance;
}

function format(value: number | undefined, digits = 1): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,100000' },
      json: { type: 'string' },
      'skip-report': { type: 'boolean', default: false },
      'skip-api': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench -- [--sizes 10000,100000,1000000] [--json FILE] [--skip-report] [--skip-api]\n' +
        '  Generates the demo shop at each size (people) and times generate, extract per source kind,\n' +
        '  transform (and the clv step inside it), export and report build, with rows/s and the peak RSS of the process tree,\n' +
        '  then a daily run (the newest days, 1 % of the web events, of every export arrive: extract, transform),\n' +
        '  the crm_postgres source and the crm_api and email_api sources (--skip-api: not them) on the same data,\n' +
        '  the slowest dbt models, where the full and the daily transform spend their time (by layer, and outside dbt\'s nodes),\n' +
        '  ratios against DuckDB alone (reading the files; running the models\' compiled SQL),\n' +
        '  where the file extraction time goes (DuckDB reading the files only; DuckDB storing the rows Tango loaded again),\n' +
        '  growth with size, and each target met or not; first, a machine reference (the same DuckDB work before and after the run).\n',
    );
    return;
  }
  const sizes = values.sizes.split(',').map((size) => Number(size.trim()));
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error(`--sizes: whole numbers, comma-separated (got ${values.sizes})`);

  const measurements: Measurement[] = [];
  const ratios: { size: number; kind: string; tangoSeconds: number; duckdbSeconds: number }[] = [];
  const extractionParts: { size: number; kind: string; tangoSeconds: number; plain: PlainRead; storeSeconds: number }[] = [];
  // Each transform's time by layer, and every dbt model's and test's time, slowest first (the JSON keeps them all; the tables show the slowest).
  const transformRuns: { size: number; run: 'full' | 'daily'; seconds: number; layers: Record<TransformLayer, number>; nodes: { node: string; seconds: number }[] }[] = [];
  const recordTransform = (size: number, run: 'full' | 'daily', seconds: number, nodes: { node: string; seconds: number }[]) =>
    transformRuns.push({ size, run, seconds, layers: transformLayers(nodes, seconds), nodes });
  const dbtRatios: { size: number; dbtSeconds: number; plainSeconds: number; models: number }[] = [];
  const daily: { size: number; days: number; rows: number; loadedRows: number; fullSeconds: number; dailySeconds: number }[] = [];
  process.stderr.write('[bench] machine reference, before\n');
  const referenceBefore = await machineReference();
  const postgres = await startPostgres();
  try {
    for (const size of sizes) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `tango-bench-${size}-`));
      const sources = path.join(dir, 'sources');
      const say = (text: string) => process.stderr.write(`[bench ${size.toLocaleString('en-US')}] ${text}\n`);
      say('generate');
      const generated = await timeTango(['generate', '--customers', String(size), '--out', dir, '--seed', '1']);
      const written = JSON.parse(readFileSync(path.join(dir, 'truth', 'parameters.json'), 'utf8')) as { rows: Record<string, number> };
      const writtenRows = Object.values(written.rows).reduce((a, b) => a + b, 0);
      measurements.push({ step: 'generate', size, rows: writtenRows, ...generated });

      // The newest days of every export wait for the daily run, the new data of a day.
      const held = await holdBackNewestDays(sources, path.join(dir, 'held-back'), DAILY_SHARE);

      const filesConfig = path.join(dir, 'files.yaml');
      writeFileSync(
        filesConfig,
        stringify({
          warehouse: { path: 'files.duckdb' },
          logs: { path: 'logs.jsonl' },
          sources: ['crm', 'web', 'email'].map((domain) => ({ name: domain, kind: `${domain}_files`, path: `sources/${domain}` })),
        }),
      );
      const extracted: Record<string, { seconds: number; rows: number }> = {};
      for (const kind of FILE_KINDS) {
        say(`extract ${kind}_files`);
        const run = await timeTango(['--config', filesConfig, 'extract', '--source', kind]);
        extracted[kind] = { seconds: run.seconds, rows: await lastRunRows(path.join(dir, 'files.duckdb')) };
        measurements.push({ step: `extract ${kind}_files`, size, rows: extracted[kind].rows, ...run });
      }
      say('duckdb reads the same files');
      const plain = await duckdbReadsTheFiles(sources, dir);
      for (const kind of FILE_KINDS) ratios.push({ size, kind: `${kind}_files`, tangoSeconds: extracted[kind]!.seconds, duckdbSeconds: plain[kind].seconds });
      say('duckdb stores the loaded rows again');
      const stored = await duckdbWritesTheLoadedRows(path.join(dir, 'files.duckdb'), dir);
      rmSync(path.join(dir, 'rewrite.duckdb'), { force: true });
      for (const kind of FILE_KINDS) extractionParts.push({ size, kind: `${kind}_files`, tangoSeconds: extracted[kind]!.seconds, plain: plain[kind], storeSeconds: stored[kind] });
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      const loadedRows = sum(FILE_KINDS.map((kind) => extracted[kind]!.rows));
      ratios.push({ size, kind: 'all file sources', tangoSeconds: sum(FILE_KINDS.map((kind) => extracted[kind]!.seconds)), duckdbSeconds: sum(FILE_KINDS.map((kind) => plain[kind].seconds)) });

      say('transform');
      const transform = await timeTango(['--config', filesConfig, 'transform']);
      // Rows: the raw rows the transform reads.
      measurements.push({ step: 'transform (dbt build, full)', size, rows: loadedRows, ...transform });
      const logged = transformLog(path.join(dir, 'logs.jsonl'));
      if (logged.clv) measurements.push({ step: 'clv fit and scoring (inside transform)', size, seconds: logged.clv.seconds, rows: logged.clv.buyers, peakRssMb: transform.peakRssMb });
      recordTransform(size, 'full', transform.seconds, logged.nodes);
      say('dbt run against the same SQL in DuckDB');
      dbtRatios.push({ size, ...(await dbtAgainstPlainDuckdb(path.join(dir, 'files.duckdb'), dir)) });

      say('export');
      // Every customer and one list per strategy, CSV and Parquet: the largest list is all customers.
      const exported = await timeTango(['--config', filesConfig, 'export', '--out', path.join(dir, 'exports')]);
      measurements.push({ step: 'export lists (all customers + per strategy, CSV + Parquet)', size, rows: await listedCustomers(path.join(dir, 'files.duckdb')), ...exported });
      if (!values['skip-report'] && size === sizes[sizes.length - 1]) {
        say('report build');
        const report = await timeTango(['--config', filesConfig, 'report', 'build']);
        measurements.push({ step: 'report build', size, ...report });
      }

      say(`daily run: the last ${held.days.length} day(s) of every export arrive (from ${held.cutoff})`);
      bringBack(held);
      const dailyExtract = await timeTango(['--config', filesConfig, 'extract']);
      const dailyRows = await lastRunRows(path.join(dir, 'files.duckdb'));
      measurements.push({ step: 'extract files, daily run (the new days of every export)', size, rows: dailyRows, ...dailyExtract });
      const dailyTransform = await timeTango(['--config', filesConfig, 'transform']);
      measurements.push({ step: 'transform (dbt build, daily run)', size, rows: loadedRows + dailyRows, ...dailyTransform });
      daily.push({ size, days: held.days.length, rows: dailyRows, loadedRows, fullSeconds: transform.seconds, dailySeconds: dailyTransform.seconds });
      const dailyLog = transformLog(path.join(dir, 'logs.jsonl'));
      recordTransform(size, 'daily', dailyTransform.seconds, dailyLog.nodes);
      // The database and APIs below serve the exports whole, as generated.
      restoreExports(held);

      say('postgres');
      const database = `bench_${size}`;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`drop database if exists ${database}`);
      await admin.query(`create database ${database}`);
      await admin.end();
      const url = postgres.url.replace(/\/postgres$/, `/${database}`);
      await loadCrmIntoPostgres(url, path.join(sources, 'crm'));
      const pgConfig = path.join(dir, 'postgres.yaml');
      writeFileSync(pgConfig, stringify({ warehouse: { path: 'postgres.duckdb' }, logs: { path: 'logs.jsonl' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: PG_ENV }] }));
      const fromPostgres = await timeTango(['--config', pgConfig, 'extract'], { [PG_ENV]: url });
      measurements.push({ step: 'extract crm_postgres', size, rows: await lastRunRows(path.join(dir, 'postgres.duckdb')), ...fromPostgres });

      if (!values['skip-api']) {
        say('api: the same CRM and email data served page by page');
        const api = await startBenchApi(sources);
        try {
          const apiConfig = path.join(dir, 'api.yaml');
          const apiSource = (name: string) => ({ name, kind: `${name}_api`, base_url: api.url, token_env: API_TOKEN_ENV });
          writeFileSync(apiConfig, stringify({ warehouse: { path: 'api.duckdb' }, logs: { path: 'logs.jsonl' }, sources: [apiSource('crm'), apiSource('email')] }));
          for (const name of ['crm', 'email']) {
            const fromApi = await timeTango(['--config', apiConfig, 'extract', '--source', name], { [API_TOKEN_ENV]: api.token });
            measurements.push({ step: `extract ${name}_api`, size, rows: await lastRunRows(path.join(dir, 'api.duckdb')), ...fromApi });
          }
        } finally {
          await api.close();
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    postgres.stop();
  }
  process.stderr.write('[bench] machine reference, after\n');
  const reference = { before: referenceBefore, after: await machineReference() };

  const lines = [
    `| machine reference (the same DuckDB work at every run: ${REFERENCE_ROWS.toLocaleString('en-US')} rows written, grouped, sorted) | before | after |`,
    '|---|---:|---:|',
    `| seconds (set figures of other runs against these) | ${format(reference.before)} | ${format(reference.after)} |`,
    '',
    '| step | people | seconds | rows | rows/s | peak RSS (MB) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const m of measurements) {
    lines.push(`| ${m.step} | ${m.size.toLocaleString('en-US')} | ${format(m.seconds)} | ${m.rows?.toLocaleString('en-US') ?? '–'} | ${m.rows ? format(m.rows / m.seconds, 0) : '–'} | ${format(m.peakRssMb, 0)} |`);
  }
  lines.push('', '| growth with size (fitted exponent: 1 = linear, 0 = flat) | time | peak RSS |', '|---|---:|---:|');
  for (const step of [...new Set(measurements.map((m) => m.step))]) {
    const points = measurements.filter((m) => m.step === step);
    lines.push(`| ${step} | ${format(exponent(points.map((m) => ({ size: m.size, value: m.seconds }))), 2)} | ${format(exponent(points.map((m) => ({ size: m.size, value: m.peakRssMb }))), 2)} |`);
  }
  for (const { size, run, nodes } of transformRuns) {
    lines.push('', `| slowest dbt models and tests, ${run} transform, ${size.toLocaleString('en-US')} people | seconds |`, '|---|---:|');
    for (const { node, seconds } of nodes.slice(0, 8)) lines.push(`| ${node} | ${format(seconds)} |`);
  }
  if (transformRuns.length) {
    // What a daily run costs besides its staging, intermediate and mart
    // models: how close to a full build's time any incremental model work can bring it.
    lines.push(
      '',
      `| where the transform time goes (s) | people | ${TRANSFORM_LAYERS.join(' | ')} | total | daily without staging, intermediate, marts: share of full |`,
      `|---|---:|${TRANSFORM_LAYERS.map(() => '---:').join('|')}|---:|---:|`,
    );
    for (const split of transformRuns) {
      const full = transformRuns.find((other) => other.size === split.size && other.run === 'full');
      const floor = split.layers.reports + split.layers.tests + split.layers['outside dbt nodes'];
      const share = split.run === 'daily' && full ? `${format((100 * floor) / full.seconds, 1)} %` : '';
      lines.push(
        `| ${split.run} | ${split.size.toLocaleString('en-US')} | ${TRANSFORM_LAYERS.map((layer) => format(split.layers[layer])).join(' | ')} | ${format(split.seconds)} | ${share} |`,
      );
    }
  }
  lines.push('', '| ratio | people | measured | against | ratio |', '|---|---:|---:|---:|---:|');
  for (const ratio of ratios) {
    lines.push(`| extraction speed vs DuckDB reading the same files: ${ratio.kind} | ${ratio.size.toLocaleString('en-US')} | ${format(ratio.tangoSeconds)} s | ${format(ratio.duckdbSeconds)} s | ${format(ratio.duckdbSeconds / ratio.tangoSeconds, 2)}x |`);
  }
  for (const ratio of dbtRatios) {
    lines.push(
      `| dbt run (${ratio.models} models) vs their compiled SQL run in DuckDB | ${ratio.size.toLocaleString('en-US')} | ${format(ratio.dbtSeconds)} s | ${format(ratio.plainSeconds)} s | ${format(ratio.plainSeconds / ratio.dbtSeconds, 2)}x |`,
    );
  }

  for (const run of daily) {
    const share = run.rows / (run.rows + run.loadedRows);
    lines.push(
      `| daily transform (the last ${run.days} day(s) of every export, ${format(100 * share, 1)} % of the rows, arrive) vs a full transform | ${run.size.toLocaleString('en-US')} | ${format(run.dailySeconds)} s | ${format(run.fullSeconds)} s | ${format(run.dailySeconds / run.fullSeconds, 2)}x |`,
    );
  }

  lines.push(
    '',
    '| where file extraction time goes | people | Tango | DuckDB reading into tables | DuckDB reading only | DuckDB storing the rows Tango loaded | Tango besides storing them |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const part of extractionParts) {
    lines.push(
      `| ${part.kind} | ${part.size.toLocaleString('en-US')} | ${format(part.tangoSeconds)} s | ${format(part.plain.seconds)} s | ${format(part.plain.readSeconds)} s | ${format(part.storeSeconds)} s | ${format(part.tangoSeconds - part.storeSeconds)} s |`,
    );
  }

  const largest = sizes[sizes.length - 1]!;
  const at = (step: string, size = largest) => measurements.find((m) => m.step === step && m.size === size);
  const targets: { target: string; figure: string; met: boolean | undefined }[] = [];
  const generate1m = at('generate', 1_000_000);
  targets.push({
    target: 'generate 1,000,000 people in under 5 minutes (issue 3)',
    figure: generate1m ? `${format(generate1m.seconds)} s` : 'not measured (add 1000000 to --sizes)',
    met: generate1m ? generate1m.seconds < 300 : undefined,
  });
  const lastRatio = ratios.filter((ratio) => ratio.kind === 'all file sources').at(-1);
  if (lastRatio) {
    const ratio = lastRatio.duckdbSeconds / lastRatio.tangoSeconds;
    targets.push({ target: 'file sources within 0.8x of DuckDB reading the same files (issue 4)', figure: `${format(ratio, 2)}x at ${largest.toLocaleString('en-US')}`, met: ratio >= 0.8 });
  }
  const transform1m = at('transform (dbt build, full)', 1_000_000);
  targets.push({
    target: 'transform (dbt build, clv step included) of 1,000,000 people in under 3 minutes (issue 5)',
    figure: transform1m ? `${format(transform1m.seconds)} s` : 'not measured (add 1000000 to --sizes)',
    met: transform1m ? transform1m.seconds < 180 : undefined,
  });
  const dailyRun = daily.find((run) => run.size === largest);
  if (dailyRun) {
    const ratio = dailyRun.dailySeconds / dailyRun.fullSeconds;
    targets.push({ target: 'a daily run adding 1 % of the data transforms in under 15 % of a full build (issue 5)', figure: `${format(100 * ratio, 0)} % at ${largest.toLocaleString('en-US')}`, met: ratio < 0.15 });
  }
  const clv1m = at('clv fit and scoring (inside transform)', 1_000_000);
  targets.push({
    target: 'clv fit and scoring for 1,000,000 people in under 15 s (issue 6)',
    figure: clv1m ? `${format(clv1m.seconds)} s (${clv1m.rows?.toLocaleString('en-US')} buyers)` : 'not measured (add 1000000 to --sizes)',
    met: clv1m ? clv1m.seconds < 15 : undefined,
  });
  const report = measurements.find((m) => m.step === 'report build');
  targets.push({
    target: 'the report site builds in under 3 minutes on the demo data, 5,000 people (issue 7)',
    figure: report ? `${format(report.seconds)} s at ${report.size.toLocaleString('en-US')}` : 'not measured (without --skip-report)',
    met: report ? report.seconds < 180 : undefined,
  });
  const pgRun = at('extract crm_postgres');
  if (pgRun?.rows) {
    const rate = pgRun.rows / pgRun.seconds;
    targets.push({ target: 'PostgreSQL source at 200,000 rows/s or better (issue 4)', figure: `${format(rate, 0)} rows/s`, met: rate >= 200_000 });
  }
  const flatSteps = ['generate', ...FILE_KINDS.map((kind) => `extract ${kind}_files`), 'extract crm_postgres', 'extract crm_api', 'extract email_api', 'export lists (all customers + per strategy, CSV + Parquet)'];
  for (const step of flatSteps.filter((name) => measurements.some((m) => m.step === name))) {
    const growth = exponent(measurements.filter((m) => m.step === step).map((m) => ({ size: m.size, value: m.peakRssMb })));
    targets.push({ target: `${step}: peak memory flat as input grows`, figure: growth === undefined ? 'needs two sizes' : `RSS exponent ${format(growth, 2)}`, met: growth === undefined ? undefined : growth < 0.2 });
  }
  lines.push('', '| target | figure | |', '|---|---|---|');
  for (const target of targets) lines.push(`| ${target.target} | ${target.figure} | ${target.met === undefined ? '–' : target.met ? 'met' : 'NOT MET'} |`);
  process.stdout.write(`${lines.join('\n')}\n`);

  if (values.json) {
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT }).toString().trim();
      } catch {
        return 'unknown';
      }
    })();
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          machine: {
            cores: os.cpus().length,
            memory_gb: Math.round(os.totalmem() / 1024 ** 3),
            platform: `${os.platform()} ${os.release()}`,
            reference_rows: REFERENCE_ROWS,
            reference_seconds: reference,
          },
          versions: { node: process.version, duckdb: duckdbVersion() },
          commit,
          sizes,
          measurements,
          ratios,
          extraction_parts: extractionParts,
          dbt_ratios: dbtRatios,
          daily_runs: daily,
          transform_layers: transformRuns.map(({ size, run, seconds, layers }) => ({ size, run, seconds, layers })),
          transform_nodes: transformRuns.map(({ size, run, nodes }) => ({ size, run, nodes })),
          targets,
        },
        null,
        2,
      ) + '\n',
    );
  }
}

await main();
