// Writes the generated CRM into a PostgreSQL database, as the company's own
// CRM database would hold it: one table per entity, typed, with updated_at.
// A database is a system of record, so it gets the valid rows only: the
// malformed rows are warts of the CSV exports. DuckDB reads the exports
// (skipping those rows) and writes clean CSV that PostgreSQL COPYs in.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { sqlString } from '../warehouse.ts';

export interface CrmTable {
  name: string;
  /** Column -> PostgreSQL type, in the export's order. */
  columns: Record<string, string>;
  /** The primary key's columns. */
  key: readonly string[];
  /** SQL (DuckDB, over the export) for when the row last changed. */
  updatedAt: string;
}

export const CRM_TABLES: CrmTable[] = [
  {
    name: 'contacts',
    columns: {
      contact_id: 'text', email: 'text', phone: 'text', first_name: 'text', last_name: 'text', gender: 'text', birth_year: 'integer',
      country: 'text', city: 'text', acquisition_channel: 'text', referred_by_contact_id: 'text', owner: 'text', email_consent: 'boolean',
      created_at: 'timestamptz', updated_at: 'timestamptz', social_handles: 'text', custom_properties: 'jsonb',
    },
    key: ['contact_id'],
    updatedAt: 'updated_at',
  },
  {
    name: 'leads',
    columns: { lead_id: 'text', contact_id: 'text', lead_type: 'text', status: 'text', amount: 'numeric(18,2)', created_at: 'timestamptz', closed_at: 'timestamptz' },
    key: ['lead_id'],
    updatedAt: 'coalesce(closed_at, created_at)',
  },
  {
    name: 'orders',
    columns: { order_id: 'text', contact_id: 'text', ordered_at: 'timestamptz', status: 'text', amount: 'numeric(18,2)', discount: 'numeric(18,2)', currency: 'text', item_count: 'integer' },
    key: ['order_id'],
    updatedAt: 'ordered_at',
  },
  {
    name: 'payments',
    columns: { payment_id: 'text', order_id: 'text', paid_at: 'timestamptz', amount: 'numeric(18,2)', currency: 'text', method: 'text' },
    key: ['payment_id'],
    updatedAt: 'paid_at',
  },
  {
    name: 'refunds',
    columns: { refund_id: 'text', order_id: 'text', contact_id: 'text', refunded_at: 'timestamptz', amount: 'numeric(18,2)', currency: 'text', reason: 'text' },
    key: ['refund_id'],
    updatedAt: 'refunded_at',
  },
  {
    name: 'referrals',
    columns: { referral_id: 'text', referrer_contact_id: 'text', referred_email: 'text', referred_contact_id: 'text', referred_at: 'timestamptz' },
    key: ['referral_id'],
    updatedAt: 'referred_at',
  },
  {
    name: 'reviews',
    columns: { review_id: 'text', contact_id: 'text', rating: 'integer', reviewed_at: 'timestamptz', product_id: 'text' },
    key: ['review_id'],
    updatedAt: 'reviewed_at',
  },
  {
    name: 'support_tickets',
    columns: {
      ticket_id: 'text', contact_id: 'text', opened_at: 'timestamptz', solved_at: 'timestamptz', status: 'text', topic: 'text', satisfaction: 'integer',
    },
    key: ['ticket_id'],
    // The last change the export shows: solving it (the rating comes with it), else opening it.
    updatedAt: 'coalesce(solved_at, opened_at)',
  },
  {
    name: 'marketing_spend',
    columns: { spend_month: 'date', channel: 'text', purpose: 'text', amount: 'numeric(18,2)', currency: 'text' },
    key: ['spend_month', 'channel', 'purpose'],
    // Booked once per month: as of the month's first day.
    updatedAt: 'spend_month',
  },
];

/** DuckDB type of a PostgreSQL column type, to check values before they go in. */
function duckType(pgType: string): string {
  if (pgType === 'timestamptz') return 'timestamptz';
  if (pgType === 'integer') return 'integer';
  if (pgType === 'boolean') return 'boolean';
  if (pgType === 'date') return 'date';
  if (pgType === 'jsonb') return 'json';
  if (pgType.startsWith('numeric')) return 'decimal(18,2)';
  return 'varchar';
}

/** Replaces the CRM tables of the database at `url` with the generated CRM exports in `crmFolder`; returns rows per table. */
export async function loadCrmIntoPostgres(url: string, crmFolder: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url, application_name: 'tango generate' });
  await client.connect();
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const workDir = mkdtempSync(path.join(tmpdir(), 'tango-crm-'));
  const rows: Record<string, number> = {};
  try {
    await duck.run("set TimeZone = 'UTC'");
    for (const table of CRM_TABLES) {
      const names = Object.keys(table.columns);
      const columnDefinitions = names.map((name) => `${name} ${table.columns[name]}`);
      await client.query(
        `drop table if exists ${table.name};
         create table ${table.name} (${columnDefinitions.join(', ')}${table.name === 'contacts' ? '' : ', updated_at timestamptz not null'},
           primary key (${table.key.join(', ')}));
         create index on ${table.name} (updated_at, ${table.key.join(', ')})`,
      );
      const clean = path.join(workDir, `${table.name}.csv`);
      const textColumns = `{${names.map((name) => `${sqlString(name)}: 'VARCHAR'`).join(', ')}}`;
      // Only rows whose every value has its type: what a database would have accepted.
      const valid = names
        .filter((name) => table.columns[name] !== 'text')
        .map((name) => `(${name} is null or try_cast(${name} as ${duckType(table.columns[name]!)}) is not null)`);
      const keyPresent = table.key.map((column) => `nullif(${column}, '') is not null`).join(' and ');
      const extra = table.name === 'contacts' ? '' : `, ${table.updatedAt} as updated_at`;
      await duck.run(
        `copy (
           select ${names.join(', ')}${extra}
           from read_csv(${sqlString(path.join(crmFolder, `${table.name}.csv`))}, header = true, auto_detect = false, columns = ${textColumns}, ignore_errors = true)
           where ${[keyPresent, ...valid].join(' and ')}
           qualify row_number() over (partition by ${table.key.join(', ')}) = 1
         ) to ${sqlString(clean)} (format csv, header true)`,
      );
      const copy = client.query(copyFrom(`copy ${table.name} from stdin with (format csv, header true)`));
      await pipeline(createReadStream(clean), copy);
      rows[table.name] = Number(copy.rowCount ?? 0);
    }
    await client.query('analyze');
  } finally {
    duck.closeSync();
    instance.closeSync();
    await client.end();
    rmSync(workDir, { recursive: true, force: true });
  }
  return rows;
}
