// Customer lists for marketers, written as files an email tool can import:
// `tango export` and the report step both read reports.rpt_customer_list and
// let DuckDB write each file (COPY streams it, however many customers there
// are). A file appears under its name only once it is complete.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

import { queryRows, sqlIdentifier, sqlString } from './warehouse.ts';

export const LIST_MODEL = 'reports.rpt_customer_list';
export const EXPORT_FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Filters on the list's columns: a customer is kept when it matches one value of every filter given. */
export interface ListFilters {
  stage?: string[];
  segment?: string[];
  strategy?: string[];
  cohort?: string[];
  channel?: string[];
  /** Countries as in the CRM (ISO 3166-1 alpha-2); 'none' for customers with none on record. */
  country?: string[];
  /** Age bands of seeds/age_bands.csv (or the CRM's own); 'none' for customers with no age on record. */
  ageBand?: string[];
  /** Only customers with an email address and email consent. */
  emailable?: boolean;
}

/** The SQL each filter compares with its values. */
const FILTER_EXPRESSIONS: Record<Exclude<keyof ListFilters, 'emailable'>, string> = {
  stage: sqlIdentifier('lifecycle_stage'),
  segment: sqlIdentifier('rfm_segment'),
  strategy: sqlIdentifier('strategy'),
  cohort: sqlIdentifier('cohort'),
  channel: sqlIdentifier('acquisition_channel'),
  // As the Lists page shows it: a customer without a country is 'none'.
  country: `coalesce(${sqlIdentifier('country_code')}, 'none')`,
  ageBand: sqlIdentifier('age_band'),
};

export interface ExportedFile {
  file: string;
  format: ExportFormat;
  rows: number;
}

async function assertListModel(connection: DuckDBConnection): Promise<void> {
  const [found] = await queryRows<{ n: bigint }>(
    connection,
    `select count(*) as n from duckdb_tables() where schema_name = 'reports' and table_name = 'rpt_customer_list'`,
  );
  if (!found?.n) throw new Error(`No ${LIST_MODEL} in this warehouse yet: run \`tango transform\` (or \`tango run\`) first`);
}

function whereClause(filters: ListFilters): string {
  const conditions = Object.entries(FILTER_EXPRESSIONS)
    .filter(([key]) => filters[key as keyof typeof FILTER_EXPRESSIONS]?.length)
    .map(([key, expression]) => `${expression} in (${filters[key as keyof typeof FILTER_EXPRESSIONS]!.map(sqlString).join(', ')})`);
  if (filters.emailable) conditions.push('is_emailable');
  return conditions.length ? `where ${conditions.join(' and ')}` : '';
}

/** A name safe as a file name: the strategy values become part of one. */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_');
}

/**
 * Writes one list as `<dir>/<name>.<format>` for each format, most valuable
 * customers first. Each file is written beside its name and renamed into
 * place, so a crash never leaves half a list under the real name.
 */
export async function exportList(
  connection: DuckDBConnection,
  dir: string,
  name: string,
  filters: ListFilters,
  formats: readonly ExportFormat[] = EXPORT_FORMATS,
): Promise<ExportedFile[]> {
  await assertListModel(connection);
  return writeList(connection, dir, name, filters, formats);
}

/** exportList once the list model is known to exist. */
async function writeList(
  connection: DuckDBConnection,
  dir: string,
  name: string,
  filters: ListFilters,
  formats: readonly ExportFormat[],
): Promise<ExportedFile[]> {
  mkdirSync(dir, { recursive: true });
  const query = `select * from ${LIST_MODEL} ${whereClause(filters)}
    order by predicted_clv desc nulls last, net_revenue desc nulls last, customer_id`;
  const written: ExportedFile[] = [];
  for (const format of formats) {
    const file = path.join(dir, `${fileSafe(name)}.${format}`);
    const partial = `${file}.partial`;
    rmSync(partial, { force: true });
    const options = format === 'csv' ? `format csv, header true` : `format parquet, compression zstd`;
    const [result] = await queryRows<{ Count: bigint }>(connection, `copy (${query}) to ${sqlString(partial)} (${options})`);
    renameSync(partial, file);
    written.push({ file, format, rows: Number(result?.Count ?? 0) });
  }
  return written;
}

/**
 * The lists every report build publishes: every customer, and one list per
 * recommended strategy, in each format.
 */
export async function exportStandardLists(connection: DuckDBConnection, dir: string, formats: readonly ExportFormat[] = EXPORT_FORMATS): Promise<ExportedFile[]> {
  await assertListModel(connection);
  const strategies = await queryRows<{ strategy: string }>(connection, `select distinct strategy from ${LIST_MODEL} order by strategy`);
  const written = await writeList(connection, dir, 'customers', {}, formats);
  for (const { strategy } of strategies) written.push(...(await writeList(connection, dir, `strategy-${strategy}`, { strategy: [strategy] }, formats)));
  return written;
}

/**
 * Replaces `dir` with a fresh set of the standard lists: written into a
 * folder beside it, then swapped in, so the site never links to a mix of two
 * builds.
 */
export async function publishStandardLists(connection: DuckDBConnection, dir: string): Promise<ExportedFile[]> {
  const fresh = `${dir}.${process.pid}.partial`;
  rmSync(fresh, { recursive: true, force: true });
  const written = await exportStandardLists(connection, fresh);
  rmSync(dir, { recursive: true, force: true });
  renameSync(fresh, dir);
  return written.map((entry) => ({ ...entry, file: path.join(dir, path.basename(entry.file)) }));
}
