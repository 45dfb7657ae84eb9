// The transform step: `dbt build` (models, seeds and tests) against the
// warehouse, with the project-local dbt from .venv.
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

import { runChild } from './child.ts';
import { scoreCustomers } from './clv/score.ts';
import type { Logger } from './log.ts';
import { DBT_EXECUTABLE, PROJECT_ROOT } from './paths.ts';
import {
  applyDomainContracts,
  applyMetaContract,
  DEFERRED_CHECKPOINT_SETTINGS,
  foldWal,
  isTransformWork,
  MODELLED_DOMAINS,
  openWarehouse,
  queryRows,
  sqlIdentifier,
  transformWorkPath,
} from './warehouse.ts';

/**
 * Environment for every dbt call: the warehouse, and no network calls home.
 * Compiled SQL and logs go beside `home` (the warehouse the work is for,
 * also when dbt builds a copy of it).
 */
export function dbtEnvironment(warehousePath: string, home = warehousePath): NodeJS.ProcessEnv {
  const workDir = path.join(path.dirname(home), 'dbt');
  return {
    TANGO_WAREHOUSE: warehousePath,
    DBT_PROFILES_DIR: PROJECT_ROOT,
    DBT_PROJECT_DIR: PROJECT_ROOT,
    // Compiled SQL and logs sit beside the warehouse they were built for.
    DBT_TARGET_PATH: path.join(workDir, 'target'),
    DBT_LOG_PATH: path.join(workDir, 'logs'),
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_VERSION_CHECK: 'false',
    DBT_USE_COLORS: 'false',
    // The profile's plugin (python/tango_deferred_checkpoints.py): dbt never checkpoints either.
    PYTHONPATH: path.join(PROJECT_ROOT, 'python'),
    TANGO_DEFERRED_CHECKPOINT_SETTINGS: JSON.stringify(DEFERRED_CHECKPOINT_SETTINGS),
  };
}

/** One node's outcome in dbt's run_results.json. */
interface DbtNodeResult {
  unique_id: string;
  status: string;
  failures?: number | null;
  message?: string | null;
  execution_time?: number;
}

/** The nodes of the last dbt call (run_results.json in the target folder); none if it wrote no file. */
function lastDbtResults(targetPath: string): DbtNodeResult[] {
  const file = path.join(targetPath, 'run_results.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { results: DbtNodeResult[] }).results : [];
}

/** A model, seed, test or snapshot as dbt's manifest.json describes it. */
interface ManifestNode {
  resource_type: string;
  name: string;
  schema: string;
  alias?: string;
  config?: { materialized?: string };
  /** A data test's model and column. */
  attached_node?: string;
  column_name?: string | null;
  columns?: Record<string, { description?: string }>;
}

/** The project's nodes by unique id, from the manifest dbt wrote in the target folder; none if there is no manifest. */
function manifestNodes(targetPath: string): Record<string, ManifestNode> {
  const file = path.join(targetPath, 'manifest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { nodes: Record<string, ManifestNode> }).nodes : {};
}

/**
 * Records what each node of the last dbt call did (run_results.json) in
 * _meta.dbt_results, in one statement. The file is removed first by the
 * caller, so a dbt call that died before writing it records nothing stale.
 */
async function recordDbtResults(connection: DuckDBConnection, targetPath: string, runId: string): Promise<void> {
  const nodes = lastDbtResults(targetPath);
  if (!nodes.length) return;
  await insertDbtResults(
    connection,
    runId,
    nodes.map((result) => ({
      unique_id: result.unique_id,
      resource_type: result.unique_id.split('.')[0]!,
      name: result.unique_id.split('.')[2] ?? result.unique_id,
      status: result.status,
      failures: result.failures ?? null,
      message: result.message ?? null,
      seconds: result.execution_time ?? null,
    })),
  );
}

/** A row of _meta.dbt_results, less the run id and the time it was recorded. */
interface DbtResultRow {
  unique_id: string;
  resource_type: string;
  name: string;
  status: string;
  failures: number | null;
  message: string | null;
  seconds: number | null;
}

/** Inserts dbt results into _meta.dbt_results in one statement, recorded now. */
async function insertDbtResults(connection: DuckDBConnection, runId: string, results: DbtResultRow[]): Promise<void> {
  await applyMetaContract(connection);
  await connection.run(
    `insert into _meta.dbt_results (run_id, unique_id, resource_type, name, status, failures, message, seconds, recorded_at)
     select $run, r.unique_id, r.resource_type, r.name, r.status, r.failures, r.message, r.seconds, now()::timestamp
     from (select unnest(from_json($results, '[{"unique_id":"VARCHAR","resource_type":"VARCHAR","name":"VARCHAR","status":"VARCHAR","failures":"BIGINT","message":"VARCHAR","seconds":"DOUBLE"}]'), recursive := true)) as r`,
    { run: runId, results: JSON.stringify(results) },
  );
}

/**
 * Runs a dbt command of the transform and records its nodes' results, failed
 * or not; then, if dbt succeeded, `afterwards` on the same connection. One
 * open of the work file for both: each open replays the WAL of everything
 * the transform has committed so far (at 100,000 people, 0.75 s after the
 * second pass).
 */
async function runDbtRecorded(
  subcommand: string[],
  warehousePath: string,
  home: string,
  runId: string,
  log: Logger,
  afterwards?: (connection: DuckDBConnection, targetPath: string) => Promise<void>,
): Promise<void> {
  const targetPath = dbtEnvironment(warehousePath, home).DBT_TARGET_PATH!;
  rmSync(path.join(targetPath, 'run_results.json'), { force: true });
  let succeeded = false;
  try {
    // Both dbt calls of a transform are one build: the rows they write carry its id (sql/macros/build_id.sql).
    await runDbt(subcommand, warehousePath, log, home, { TANGO_RUN_ID: runId });
    succeeded = true;
  } catch (error) {
    const incremental = failedIncrementalModels(targetPath);
    if (incremental.length) {
      log.warn(
        `incremental model(s) ${incremental.join(', ')} failed: if this warehouse was built by an earlier version of them ` +
          '(their stored columns differ), run `tango transform --full-refresh` once',
      );
    }
    for (const failure of failedDataTests(targetPath)) log.warn(failure);
    throw error;
  } finally {
    const warehouse = await openWarehouse(warehousePath);
    try {
      await recordDbtResults(warehouse.connection, targetPath, runId);
      if (succeeded && afterwards) await afterwards(warehouse.connection, targetPath);
    } finally {
      warehouse.close();
    }
  }
}

/**
 * The incremental models the last dbt call failed to build. An incremental
 * model keeps its table between builds, so a warehouse built by an earlier
 * version of it can fail the next build until a full refresh.
 */
function failedIncrementalModels(targetPath: string): string[] {
  const failed = lastDbtResults(targetPath).filter((result) => result.status === 'error');
  if (!failed.length) return [];
  const nodes = manifestNodes(targetPath);
  return failed
    .filter((result) => nodes[result.unique_id]?.config?.materialized === 'incremental')
    .map((result) => nodes[result.unique_id]!.name);
}

/**
 * What each data test the last dbt call failed checks, in a line: its name,
 * the rows that failed it, and the description of the model column it
 * tests (which says what a failure means, e.g. a currency with no rate).
 */
function failedDataTests(targetPath: string): string[] {
  const failed = lastDbtResults(targetPath).filter((result) => result.status === 'fail');
  if (!failed.length) return [];
  const nodes = manifestNodes(targetPath);
  return failed.map((result) => {
    const test = nodes[result.unique_id];
    const model = test?.attached_node ? nodes[test.attached_node] : undefined;
    const column = test?.column_name ? model?.columns?.[test.column_name] : undefined;
    const checked = model && test?.column_name ? `${model.name}.${test.column_name}` : model?.name;
    const rows = result.failures === 1 ? '1 row' : `${result.failures ?? 'some'} rows`;
    const about = column?.description ? `: ${column.description.trim()}` : '';
    return `data test ${test?.name ?? result.unique_id} failed on ${rows}${checked ? ` of ${checked}` : ''}${about}`;
  });
}

export async function runDbt(subcommand: string[], warehousePath: string, log: Logger, home = warehousePath, env: NodeJS.ProcessEnv = {}): Promise<void> {
  if (!existsSync(DBT_EXECUTABLE)) {
    throw new Error(`dbt is not installed in ${path.dirname(path.dirname(DBT_EXECUTABLE))}. Run: npm run setup`);
  }
  await runChild(DBT_EXECUTABLE, subcommand, {
    cwd: PROJECT_ROOT,
    env: { ...dbtEnvironment(warehousePath, home), ...env },
    log,
    label: `dbt ${subcommand[0]}`,
    // On the transform's work file a clean-up on Ctrl-C must not be what closes DuckDB.
    ignoreInterrupt: isTransformWork(warehousePath),
    onLine(line) {
      const progress = /^\S+\s+(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)/.exec(line);
      if (progress) log.progress(`dbt ${subcommand[0]}`, Number(progress[1]), Number(progress[2]));
      if (/\b(ERROR|FAIL)\b/.test(line) && !/ERROR=0/.test(line)) log.warn(line.trim());
    },
  });
}

/**
 * Builds every model and runs every dbt test so that the warehouse takes
 * all of it or none: a kill, a crash or a failed test at any moment leaves
 * the warehouse as it was before the transform, never with some models
 * rebuilt and others not. A failed transform still leaves its dbt results in
 * _meta.dbt_results.
 *
 * How, without copying the warehouse (a copy cost 3-4 s per GB, and the
 * warehouse holds every raw event): the work file (transformWorkPath) is a
 * hard link of the warehouse, opened only with checkpoints deferred, so
 * everything dbt and the clv step commit goes to the work file's WAL, and
 * the rows DuckDB writes ahead go to blocks the warehouse's own state does
 * not use. The warehouse file under its own name still opens as before the
 * transform. Committing is renaming the work file's WAL to the warehouse's:
 * from then on opening the warehouse replays it, and foldWal (a checkpoint in
 * a process a kill does not stop) folds it into the file. Until then nothing
 * may write the warehouse itself: what it wrote could take the free blocks
 * the work file's WAL points at. Where the file system has no hard links, the
 * work file is a copy, checkpointed and renamed over the warehouse at the end.
 *
 * dbt's unit tests run only with `unitTests`: their inputs are fixed rows,
 * so they say something about the code, not the data, and dbt recommends
 * them for development and CI, not production builds (at 155,000 people they
 * cost 2-7 s of a 48-60 s transform). `npm test` runs them.
 */
export async function transform(
  warehousePath: string,
  runId: string,
  log: Logger,
  options: { fullRefresh?: boolean; unitTests?: boolean } = {},
): Promise<void> {
  const work = transformWorkPath(warehousePath);
  rmSync(path.dirname(work), { recursive: true, force: true });
  mkdirSync(path.dirname(work), { recursive: true });
  // No WAL beside the warehouse: the work file would not see it.
  await foldWal(warehousePath);
  const linked = linkOrCopy(warehousePath, work, log);
  try {
    try {
      await transformInPlace(work, warehousePath, runId, log, { fullRefresh: options.fullRefresh ?? false, unitTests: options.unitTests ?? false });
    } catch (error) {
      await keepDbtResults(work, warehousePath, runId).catch((problem: Error) => log.warn(`could not keep the dbt results of the failed transform: ${problem.message}`));
      throw error;
    }
    if (linked) {
      if (existsSync(`${work}.wal`)) renameSync(`${work}.wal`, `${warehousePath}.wal`);
    } else {
      await foldWal(work);
      renameSync(work, warehousePath);
    }
  } finally {
    rmSync(path.dirname(work), { recursive: true, force: true });
  }
  const folding = Date.now();
  await foldWal(warehousePath);
  log.info(`transform: committed (checkpoint ${((Date.now() - folding) / 1000).toFixed(1)} s)`);
}

/** The work file as a hard link of the warehouse (true), or where links are refused, a copy (false). */
function linkOrCopy(warehousePath: string, work: string, log: Logger): boolean {
  try {
    linkSync(warehousePath, work);
    log.info('transform: building on a hard link of the warehouse, checkpoints deferred until it commits');
    return true;
  } catch (error) {
    const started = Date.now();
    copyFileSync(warehousePath, work);
    const gigabytes = statSync(work).size / 1024 ** 3;
    log.info(
      `transform: no hard link here (${(error as NodeJS.ErrnoException).code}): building on a copy of the warehouse ` +
        `(${gigabytes.toFixed(2)} GB, copied in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return false;
  }
}

/**
 * The dbt results a failed transform recorded in its work file, into the
 * warehouse (which keeps its models). Read, and the work file closed, before
 * the warehouse is written: what it writes may take the work file's blocks.
 */
async function keepDbtResults(work: string, warehousePath: string, runId: string): Promise<void> {
  if (!existsSync(work)) return;
  const failed = await openWarehouse(work, { readOnly: true });
  let results: DbtResultRow[];
  try {
    const [recorded] = await queryRows<{ present: boolean }>(
      failed.connection,
      `select count(*) > 0 as present from duckdb_tables() where schema_name = '_meta' and table_name = 'dbt_results'`,
    );
    if (!recorded?.present) return;
    results = await queryRows<DbtResultRow>(
      failed.connection,
      `select unique_id, resource_type, name, status, failures::double as failures, message, seconds from _meta.dbt_results where run_id = $run order by recorded_at`,
      { run: runId },
    );
  } finally {
    failed.close();
  }
  if (!results.length) return;
  const warehouse = await openWarehouse(warehousePath);
  try {
    await insertDbtResults(warehouse.connection, runId, results);
  } finally {
    warehouse.close();
  }
}

/**
 * The transform's work on one warehouse file. A domain no source loads (a
 * data set without web or email data) gets its empty raw tables first, so
 * the models that read it come out empty instead of failing. The predictive
 * models sit in the middle: dbt first builds what they read
 * (int_customer_clv_summary, its parents and the seeds), the clv step scores the
 * buyers into raw_clv, and `dbt build` builds everything else (the marts
 * that read the predictions among it) and runs every data test, those of the
 * first pass too: each model is built once, every data test runs, and dbt
 * starts twice (each start costs seconds). The unit tests, if asked for,
 * run before the model each tests is built, in the pass that builds it: dbt
 * runs a model's unit tests only where the model is selected.
 */
async function transformInPlace(
  warehousePath: string,
  home: string,
  runId: string,
  log: Logger,
  { fullRefresh, unitTests }: { fullRefresh: boolean; unitTests: boolean },
): Promise<void> {
  const warehouse = await openWarehouse(warehousePath);
  try {
    for (const domain of MODELLED_DOMAINS) await applyDomainContracts(warehouse.connection, domain, `raw_${domain}`);
    await applyDomainContracts(warehouse.connection, 'clv', 'raw_clv');
  } finally {
    warehouse.close();
  }
  const scoringInputs = '+int_customer_clv_summary';
  // Incremental models are built from scratch.
  const refresh = fullRefresh ? ['--full-refresh'] : [];
  // Seeds and models (and their unit tests) only: their data tests run last, once what they relate to is built.
  const firstPassTypes = ['model', 'seed', ...(unitTests ? ['unit_test'] : [])].flatMap((type) => ['--resource-type', type]);
  await runDbtRecorded(['build', '--select', scoringInputs, ...firstPassTypes, ...refresh], warehousePath, home, runId, log);
  await scoreCustomers(warehousePath, runId, log);
  // Everything else, and every data test: the scoring inputs' models and seeds
  // are left out by name, and with no indirect selection their tests stay in.
  const built = [`${scoringInputs},resource_type:model`, `${scoringInputs},resource_type:seed`];
  const units = unitTests ? [] : ['--exclude-resource-type', 'unit_test'];
  await runDbtRecorded(['build', '--exclude', ...built, '--indirect-selection', 'empty', ...units, ...refresh], warehousePath, home, runId, log, (connection, targetPath) =>
    dropRelationsNoNodeBuilds(connection, targetPath, log),
  );
}

/**
 * Drops the tables and views of dbt's schemas that no model or seed of the
 * project builds any more (one removed or renamed): dbt leaves them behind,
 * and an analyst could take them for current. Only the schemas the
 * project's models and seeds build into are looked at; anything else in the
 * warehouse stays.
 */
async function dropRelationsNoNodeBuilds(connection: DuckDBConnection, targetPath: string, log: Logger): Promise<void> {
  const built = Object.values(manifestNodes(targetPath)).filter(
    (node) => ['model', 'seed', 'snapshot'].includes(node.resource_type) && node.config?.materialized !== 'ephemeral',
  );
  const relations = built.map((node) => ({ schema: node.schema, name: node.alias ?? node.name }));
  const leftovers = await queryRows<{ schema_name: string; name: string; kind: string }>(
    connection,
    `with found as (
       select schema_name, table_name as name, 'table' as kind from duckdb_tables() where database_name = current_database() and not temporary
       union all
       select schema_name, view_name, 'view' from duckdb_views() where database_name = current_database() and not temporary and not internal
     )
     , built as (select unnest(from_json($relations, '[{"schema":"VARCHAR","name":"VARCHAR"}]'), recursive := true))
     select found.* from found
     where schema_name in (select schema from built)
       and not exists (select 1 from built where built.schema = found.schema_name and built.name = found.name)
     order by schema_name, name`,
    { relations: JSON.stringify(relations) },
  );
  for (const leftover of leftovers) {
    await connection.run(`drop ${leftover.kind} ${sqlIdentifier(leftover.schema_name)}.${sqlIdentifier(leftover.name)}`);
  }
  if (leftovers.length) {
    log.info(`transform: dropped ${leftovers.length} relation(s) that no model or seed builds any more: ${leftovers.map((l) => `${l.schema_name}.${l.name}`).join(', ')}`);
  }
}

/**
 * `dbt docs generate`: the documentation site of every model, seed and test,
 * with the warehouse's columns, written beside the warehouse. Returns the
 * path of its index.html. Needs no network.
 */
export async function generateDocs(warehousePath: string, log: Logger): Promise<string> {
  await runDbt(['docs', 'generate'], warehousePath, log);
  return path.join(dbtEnvironment(warehousePath).DBT_TARGET_PATH!, 'index.html');
}
