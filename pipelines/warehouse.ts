// Access to the DuckDB warehouse from TypeScript. TypeScript writes only the
// raw_* schemas and _meta; everything else belongs to dbt.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';

import { heldLockPaths, shareHeldLocksWith } from './lock.ts';
import { PROJECT_ROOT, RAW_CONTRACTS_DIR } from './paths.ts';

export interface Warehouse {
  path: string;
  connection: DuckDBConnection;
  close(): void;
}

/**
 * DuckDB's memory limit for the pipeline's own connections; $TANGO_MEMORY_LIMIT
 * overrides it. A load's staging spills beyond it, so it is what keeps memory
 * flat when one file is larger than a batch (a CRM export of 8 M orders: peak
 * RSS 2.2 GB at 2GB, 1.0 GB at 512MB, 9 % slower). Peak RSS stays about
 * 0.5 GB above it (Node, and what DuckDB allocates outside its buffers).
 */
export const DEFAULT_MEMORY_LIMIT = '512MB';

/** DuckDB database files carry "DUCK" at byte 8 of their first block. */
function refuseForeignFile(file: string): void {
  let head = Buffer.alloc(16);
  try {
    const fd = openSync(file, 'r');
    try {
      head = head.subarray(0, readSync(fd, head, 0, 16, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // not there yet (or unreadable: DuckDB says why)
  }
  if (head.length === 0 || head.subarray(8, 12).toString('latin1') === 'DUCK') return;
  const begins = head.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  throw new Error(
    `Cannot open the warehouse ${file}: the file is not a valid DuckDB database file (it begins "${begins}"). ` +
      'Nothing was changed; point warehouse.path (or TANGO_WAREHOUSE) at a DuckDB file or a new path.',
  );
}

/**
 * Where a transform builds: the warehouse's file name (the catalog name, which
 * the views dbt creates spell out) in a folder of its own beside it,
 * `.<file>.transform/`. pipelines/transform.ts links it to the warehouse.
 */
export function transformWorkPath(warehousePath: string): string {
  const name = path.basename(warehousePath);
  return path.join(path.dirname(warehousePath), `.${name}.transform`, name);
}

/** Whether a file is a transform's work file (see transformWorkPath). */
export function isTransformWork(file: string): boolean {
  const folder = path.basename(path.dirname(file));
  return folder === `.${path.basename(file)}.transform`;
}

/**
 * DuckDB settings under which a connection leaves the database file's own
 * state alone: no checkpoint on commit, on WAL size or on closing (that one
 * is a pragma, run right after opening), so that every change it commits
 * stays in the WAL beside the file. Rows DuckDB writes ahead into the file's
 * free blocks (large inserts do) are referenced from the WAL only.
 *
 * Every connection that writes the warehouse runs with them, and the WAL is
 * folded into the file by foldWal alone. A checkpoint rewrites blocks the
 * file's current state points at (its metadata blocks) in place, and a kill
 * that lands inside such a write leaves half a block: a warehouse that no
 * longer opens ("Corrupt database file: computed checksum ... does not
 * match"). Appending to the WAL has no such moment: a WAL entry cut short is
 * left out when the WAL is replayed. The transform's work file is a hard link
 * of the warehouse: its WAL holds the whole transform, and committing it is
 * one rename (pipelines/transform.ts). dbt gets the same settings
 * (python/tango_deferred_checkpoints.py).
 */
export const DEFERRED_CHECKPOINT_SETTINGS: Readonly<Record<string, string>> = {
  checkpoint_threshold: '1000TB',
  auto_checkpoint_skip_wal_threshold: String(2 ** 62),
  debug_skip_checkpoint_on_commit: 'true',
};

/** The DuckDB settings of every connection to the warehouse, reading or writing. */
function warehouseSettings(): Record<string, string> {
  return {
    // DuckDB would take 80 % of the machine's memory; bounded, it spills large
    // loads to <warehouse>.tmp instead, so memory stays flat as input grows.
    memory_limit: process.env.TANGO_MEMORY_LIMIT || DEFAULT_MEMORY_LIMIT,
    // Never fetch an extension: no network is assumed, and a file of another
    // format (SQLite) must be refused rather than opened through one.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // No vacuum (README, Storage). Each load, appended by parallel
    // threads, leaves partly filled row groups, and with vacuum every later
    // checkpoint (in this process or the next) rewrites them to merge them:
    // a third of the load again (2.9 M PostgreSQL rows: 15-18 s -> 12-14 s).
    max_vacuum_tasks: '0',
  };
}

/** Whether a database is at `file`: a file with something in it, or a WAL beside it. */
function holdsDatabase(file: string): boolean {
  return (existsSync(file) && statSync(file).size > 0) || existsSync(`${file}.wal`);
}

/**
 * Creates an empty database at `file` in one step. DuckDB creates the file
 * first and writes its headers after: a kill in between leaves an empty file
 * that DuckDB then refuses ("not a valid DuckDB database file"), and every
 * later run with it. So the new file is made in a folder of its own beside
 * the warehouse, under the same name (DuckDB's catalog name), and renamed into
 * place once whole. An empty file already there (such a kill by an earlier
 * version) holds nothing, and is replaced.
 */
async function createWarehouseFile(file: string): Promise<void> {
  const folder = path.join(path.dirname(file), `.${path.basename(file)}.new`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  const created = path.join(folder, path.basename(file));
  const instance = await DuckDBInstance.create(created, warehouseSettings());
  instance.closeSync();
  renameSync(created, file);
  rmSync(folder, { recursive: true, force: true });
}

/**
 * Opens the warehouse file. A connection that writes never checkpoints
 * (DEFERRED_CHECKPOINT_SETTINGS): what it commits goes to the WAL, which
 * foldWal folds into the file.
 */
export async function openWarehouse(file: string, options: { readOnly?: boolean } = {}): Promise<Warehouse> {
  mkdirSync(path.dirname(file), { recursive: true });
  refuseForeignFile(file);
  if (!options.readOnly && !holdsDatabase(file)) await createWarehouseFile(file);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, {
      ...warehouseSettings(),
      ...(options.readOnly ? { access_mode: 'READ_ONLY' } : DEFERRED_CHECKPOINT_SETTINGS),
    });
  } catch (error) {
    throw new Error(`Cannot open the warehouse ${file}: ${(error as Error).message}`, { cause: error });
  }
  const connection = await instance.connect();
  if (!options.readOnly) await connection.run('pragma disable_checkpoint_on_shutdown');
  // Source timestamps without an offset are UTC, whatever the machine's zone.
  await connection.run("set TimeZone = 'UTC'");
  return {
    path: file,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

const CHECKPOINT_PROCESS = path.join(PROJECT_ROOT, 'pipelines', 'checkpoint-process.mjs');

/**
 * Folds the WAL beside a DuckDB file into the file (a checkpoint), so that
 * the file alone holds everything committed. It runs in a process of its own
 * (pipelines/checkpoint-process.mjs), started in a session of its own: a kill
 * of this process, or Ctrl-C in its terminal, lets it finish, since a
 * checkpoint cut in the middle of a block it rewrites in place would leave a
 * file that no longer opens. It holds this process's locks with it (it starts
 * once they name it), so no next run opens the file before it is done. No
 * WAL: nothing to do.
 */
export async function foldWal(file: string): Promise<void> {
  if (!existsSync(`${file}.wal`)) return;
  const locks = heldLockPaths();
  const child = spawn(process.execPath, [CHECKPOINT_PROCESS, file, JSON.stringify(warehouseSettings()), JSON.stringify(locks), String(process.pid)], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid !== undefined) shareHeldLocksWith(child.pid);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`Could not fold the WAL of ${file} into it (the WAL is kept, and the next run folds it): ${stderr.trim() || `exit code ${code}`}`);
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Small result sets only (metadata, counts): rows as plain JS objects. */
export async function queryRows<Row = Record<string, unknown>>(
  connection: DuckDBConnection,
  sql: string,
  values?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql, values);
  return reader.getRowObjectsJS() as Row[];
}

/** A numeric result as one Float64Array per column (empty arrays when there are no rows). */
export async function queryNumberColumns(connection: DuckDBConnection, sql: string): Promise<Float64Array[]> {
  const reader = await connection.runAndReadAll(sql);
  const columns = reader.getColumns() as number[][];
  return Array.from({ length: reader.columnCount }, (_, index) => Float64Array.from(columns[index] ?? []));
}

/** Runs `work` in one transaction: all of it is committed, or none of it. */
export async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await connection.run('begin transaction');
  try {
    const result = await work();
    await connection.run('commit');
    return result;
  } catch (error) {
    await connection.run('rollback').catch(() => undefined);
    throw error;
  }
}

/**
 * Sets whether DuckDB keeps the order of the rows a statement writes (its
 * default: on). Off, a parallel insert need not put its row groups back in
 * order: the raw insert of 1.3 M staged rows takes 1.0 s instead of 1.6 s.
 * Not transactional (a rollback does not undo it), so a statement that
 * numbers rows by their order sets it on itself, before it runs.
 */
export async function keepInsertionOrder(connection: DuckDBConnection, keep: boolean): Promise<void> {
  await connection.run(`set preserve_insertion_order = ${keep}`);
}

/**
 * The DDL of one raw contract from sql/raw, e.g. `crm/contacts`, with
 * `{schema}` replaced by the source's raw schema.
 */
export function readContract(name: string, schema?: string): string {
  const ddl = readFileSync(path.join(RAW_CONTRACTS_DIR, `${name}.sql`), 'utf8');
  return schema === undefined ? ddl : ddl.replaceAll('{schema}', sqlIdentifier(schema));
}

/**
 * Creates the _meta schema and tables if they do not exist yet. A database
 * that has tables but no _meta belongs to something else: it is refused
 * rather than filled with Tango's schemas.
 */
export async function applyMetaContract(connection: DuckDBConnection): Promise<void> {
  const [found] = await queryRows<{ file: string; tango: boolean; tables: bigint; example: string | null }>(
    connection,
    `select (select path from duckdb_databases() where database_name = current_database()) as file,
       exists (select 1 from duckdb_schemas() where database_name = current_database() and schema_name = '_meta') as tango,
       (select count(*) from duckdb_tables() where database_name = current_database()) as tables,
       (select any_value(schema_name || '.' || table_name) from duckdb_tables() where database_name = current_database()) as example`,
  );
  if (found && !found.tango && found.tables > 0n) {
    throw new Error(
      `${found.file} is a DuckDB database but not a Tango warehouse: it has ${found.tables} table(s) (${found.example}, ...) and no _meta schema. ` +
        `Nothing was changed; point warehouse.path (or TANGO_WAREHOUSE) at a new file.`,
    );
  }
  await connection.run(readContract('_meta'));
}

/** The domains whose raw_<domain> schemas the dbt staging models read. */
export const MODELLED_DOMAINS = ['crm', 'web', 'email'] as const;

/**
 * Creates every raw contract table of a domain (sql/raw/<domain>/*.sql) in
 * `schema`, and brings tables made by an older contract up to date: a column
 * the contract gained is added (null in the rows already loaded). A column
 * whose type changed cannot be migrated in place and is reported.
 */
export async function applyDomainContracts(connection: DuckDBConnection, domain: string, schema: string): Promise<void> {
  const names = readdirSync(path.join(RAW_CONTRACTS_DIR, domain))
    .filter((name) => name.endsWith('.sql'))
    .map((name) => name.slice(0, -4))
    .sort();
  const reference = '_tango_contract';
  type Column = { table_name: string; column_name: string; data_type: string };
  const columnsOf = (inSchema: string) =>
    queryRows<Column>(
      connection,
      'select table_name, column_name, data_type from information_schema.columns where table_schema = $schema order by ordinal_position',
      { schema: inSchema },
    );
  await connection.run(`drop schema if exists ${reference} cascade`);
  try {
    for (const name of names) {
      await connection.run(readContract(`${domain}/${name}`, schema));
      await connection.run(readContract(`${domain}/${name}`, reference));
    }
    const existing = await columnsOf(schema);
    for (const wanted of await columnsOf(reference)) {
      const found = existing.find((column) => column.table_name === wanted.table_name && column.column_name === wanted.column_name);
      const table = `${sqlIdentifier(schema)}.${sqlIdentifier(wanted.table_name)}`;
      if (!found) {
        await connection.run(`alter table ${table} add column ${sqlIdentifier(wanted.column_name)} ${wanted.data_type}`);
      } else if (found.data_type !== wanted.data_type) {
        throw new Error(
          `${schema}.${wanted.table_name}.${wanted.column_name} is ${found.data_type} but the contract now says ${wanted.data_type}; ` +
            `reload the source into a new warehouse, or convert the column yourself`,
        );
      }
    }
  } finally {
    await connection.run(`drop schema if exists ${reference} cascade`);
  }
}
