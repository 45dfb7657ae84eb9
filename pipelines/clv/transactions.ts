// A transaction file (CSV, or whitespace-separated as the CDNOW files are;
// with or without a header) summarised per customer for the models, by
// DuckDB: purchases on one day merged into one, then x (repeat purchase days
// up to the calibration end), t_x (first to last of them), T (first purchase
// to the calibration end) in the chosen unit, and the mean value of the
// repeat purchases.
import { existsSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

import { queryNumberColumns, queryRows, sqlString } from '../warehouse.ts';
import type { FrequencyGroups, SpendGroups } from './models.ts';

export const TIME_UNITS = { days: 1, weeks: 7 } as const;
export type TimeUnit = keyof typeof TIME_UNITS;

export interface TransactionColumns {
  /** A header name, or a 1-based position. */
  customer: string;
  date: string;
  amount: string;
}

export interface SummaryOptions {
  file: string;
  columns: TransactionColumns;
  calibrationEnd: string;
  unit: TimeUnit;
}

export interface CustomerSummary {
  frequency: FrequencyGroups;
  spend: SpendGroups;
  customers: number;
  repeatCustomers: number;
  /** Repeat buyers left out of the spend model because their mean repeat value is not positive. */
  spendExcluded: number;
}

export class TransactionFileError extends Error {
  override name = 'TransactionFileError';
}

const isPosition = (column: string) => /^[1-9]\d*$/.test(column);

/** Reads the file into temp table `fields` (the text fields of each non-blank line); returns the first line's fields. */
async function readFields(connection: DuckDBConnection, file: string): Promise<string[]> {
  await connection.run(
    `create temp table lines as
     select row_number() over () as line_number, line
     from read_csv(${sqlString(file)}, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
       delim = chr(1), quote = '', escape = '', strict_mode = false)
     where line is not null and trim(line) <> ''`,
  );
  const [first] = await queryRows<{ line: string }>(connection, 'select line from lines where line_number = 1');
  if (!first) throw new TransactionFileError(`${file}: no transactions`);
  const isCsv = first.line.includes(',');
  // CSV fields may be quoted; whitespace-separated ones never are.
  const split = isCsv
    ? `list_transform(regexp_extract_all(line || ',', '("(?:[^"]|"")*"|[^,]*),'), field -> trim(regexp_replace(trim(field, ','), '^"|"$', '', 'g')))`
    : `regexp_split_to_array(trim(line), '\\s+')`;
  await connection.run(`create temp table fields as select line_number, ${split} as fields from lines`);
  const [header] = await queryRows<{ fields: string[] }>(connection, 'select fields from fields where line_number = 1');
  return header!.fields.map((field) => String(field));
}

/**
 * Reads a transaction file into an in-memory DuckDB (temp table
 * `transactions`: customer_id, purchased_at, amount), and runs `work` on it.
 */
async function withTransactions<T>(file: string, columns: TransactionColumns, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  if (!existsSync(file)) throw new TransactionFileError(`${file}: no such file`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const firstLine = await readFields(connection, file);
    const byName = Object.values(columns).some((column) => !isPosition(column));
    const position = (role: keyof TransactionColumns): number => {
      const column = columns[role];
      if (isPosition(column)) {
        if (Number(column) > firstLine.length) throw new TransactionFileError(`--${role}-col ${column}: the file has ${firstLine.length} column(s)`);
        return Number(column);
      }
      const index = firstLine.findIndex((name) => name.toLowerCase() === column.toLowerCase());
      if (index < 0) throw new TransactionFileError(`--${role}-col ${column}: no such column in the header (${firstLine.join(', ')})`);
      return index + 1;
    };
    const [customer, date, amount] = [position('customer'), position('date'), position('amount')];
    // A header: columns were named, or the first line's date is no date.
    const dateSql = (value: string) => `coalesce(try_strptime(${value}, '%Y%m%d'), try_cast(${value} as timestamp))`;
    const [firstDate] = await queryRows<{ parsed: Date | null }>(connection, `select ${dateSql(`fields[${date}]`)} as parsed from fields where line_number = 1`);
    const skipHeader = byName || firstDate?.parsed == null;

    await connection.run(
      `create temp table transactions as
       select line_number, fields[${customer}] as customer_id, ${dateSql(`fields[${date}]`)} as purchased_at,
         try_cast(fields[${amount}] as double) as amount, fields
       from fields ${skipHeader ? 'where line_number > 1' : ''}`,
    );
    const [bad] = await queryRows<{ line_number: bigint; fields: string[] }>(
      connection,
      'select line_number, fields from transactions where customer_id is null or purchased_at is null or amount is null order by line_number limit 1',
    );
    if (bad) {
      throw new TransactionFileError(
        `${file}: line ${bad.line_number} has no customer, date or amount in columns ${customer}, ${date}, ${amount}: ${bad.fields.join(' ')}`,
      );
    }
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The per-customer purchase days (same-day purchases merged) and the summary (x, t_x, T, mean repeat value), as temp tables `days` and `summary`. */
async function summarize(connection: DuckDBConnection, calibrationEnd: string, unit: TimeUnit): Promise<void> {
  const end = `cast(${sqlString(calibrationEnd)} as date)`;
  const unitDays = TIME_UNITS[unit];
  await connection.run(
    `create temp table days as
     select customer_id, cast(purchased_at as date) as purchase_date, sum(amount) as amount
     from transactions
     group by customer_id, cast(purchased_at as date)`,
  );
  await connection.run(
    `create temp table summary as
     with firsts as (
         select customer_id, min(purchase_date) as first_date from days group by customer_id
     ),
     calibration as (
         select days.*, firsts.first_date
         from days join firsts using (customer_id)
         where days.purchase_date <= ${end} and firsts.first_date <= ${end}
     )
     select
         customer_id,
         count(*) - 1 as x,
         date_diff('day', first_date, max(purchase_date)) / ${unitDays} as t_x,
         date_diff('day', first_date, ${end}) / ${unitDays} as T,
         avg(amount) filter (where purchase_date > first_date) as mean_repeat_spend,
         first_date
     from calibration
     group by customer_id, first_date`,
  );
}

/** The models' input, grouped, from the temp table `summary`. */
async function readSummary(connection: DuckDBConnection, file: string, calibrationEnd: string): Promise<CustomerSummary> {
  const [x, tx, T, weight] = await queryNumberColumns(connection, `select x::double, t_x::double, T::double, count(*)::double from summary group by x, t_x, T`);
  const [spendX, meanSpend, spendWeight] = await queryNumberColumns(
    connection,
    `select x::double, mean_repeat_spend::double, count(*)::double from summary where x > 0 and mean_repeat_spend > 0 group by x, mean_repeat_spend`,
  );
  const [counts] = await queryRows<{ customers: bigint; repeat_customers: bigint; excluded: bigint }>(
    connection,
    `select count(*) as customers, count(*) filter (where x > 0) as repeat_customers,
       count(*) filter (where x > 0 and not (mean_repeat_spend > 0)) as excluded from summary`,
  );
  if (!counts || counts.customers === 0n) throw new TransactionFileError(`${file}: no customer made a first purchase by ${calibrationEnd}`);
  return {
    frequency: { x: x!, tx: tx!, T: T!, weight: weight! },
    spend: { x: spendX!, meanSpend: meanSpend!, weight: spendWeight! },
    customers: Number(counts.customers),
    repeatCustomers: Number(counts.repeat_customers),
    spendExcluded: Number(counts.excluded),
  };
}

export async function summarizeTransactions(options: SummaryOptions): Promise<CustomerSummary> {
  const { file, columns, calibrationEnd, unit } = options;
  return withTransactions(file, columns, async (connection) => {
    await summarize(connection, calibrationEnd, unit);
    return readSummary(connection, file, calibrationEnd);
  });
}

export interface HoldoutData {
  summary: CustomerSummary;
  /** Customers grouped by calibration (x, t_x, T): how many, and their repeat purchase days in the holdout. */
  holdout: { x: Float64Array; tx: Float64Array; T: Float64Array; customers: Float64Array; actual: Float64Array };
  /** Days from the first customer's first purchase: when customers made their first purchase, and how many on each day. */
  firstPurchases: { day: Float64Array; customers: Float64Array };
  /** Repeat purchase days up to the holdout end, per day from the same start. */
  repeatPurchases: { day: Float64Array; purchases: Float64Array };
  holdoutEnd: string;
  holdoutDays: number;
}

/** The summary, plus what the holdout period (calibration end .. holdout end) shows. */
export async function holdoutData(options: SummaryOptions & { holdoutEnd?: string }): Promise<HoldoutData> {
  const { file, columns, calibrationEnd, unit } = options;
  return withTransactions(file, columns, async (connection) => {
    await summarize(connection, calibrationEnd, unit);
    const summary = await readSummary(connection, file, calibrationEnd);
    const calibration = `cast(${sqlString(calibrationEnd)} as date)`;
    const end = options.holdoutEnd ? `cast(${sqlString(options.holdoutEnd)} as date)` : '(select max(purchase_date) from days)';
    const [bounds] = await queryRows<{ holdout_end: string; holdout_days: bigint }>(
      connection,
      `select strftime(${end}, '%Y-%m-%d') as holdout_end, date_diff('day', ${calibration}, ${end}) as holdout_days`,
    );
    const [x, tx, T, customers, actual] = await queryNumberColumns(
      connection,
      `with actual as (
         select summary.customer_id, count(days.purchase_date) as purchases
         from summary left join days
           on days.customer_id = summary.customer_id and days.purchase_date > ${calibration} and days.purchase_date <= ${end}
         group by summary.customer_id)
       select x::double, t_x::double, T::double, count(*)::double, sum(actual.purchases)::double
       from summary join actual using (customer_id) group by x, t_x, T`,
    );
    const start = `(select min(first_date) from summary)`;
    const [firstDay, firstCustomers] = await queryNumberColumns(
      connection,
      `select date_diff('day', ${start}, first_date)::double, count(*)::double from summary group by first_date order by first_date`,
    );
    const [repeatDay, repeatPurchases] = await queryNumberColumns(
      connection,
      `select date_diff('day', ${start}, days.purchase_date)::double, count(*)::double
       from days join summary using (customer_id)
       where days.purchase_date > summary.first_date and days.purchase_date <= ${end}
       group by days.purchase_date order by days.purchase_date`,
    );
    return {
      summary,
      holdout: { x: x!, tx: tx!, T: T!, customers: customers!, actual: actual! },
      firstPurchases: { day: firstDay!, customers: firstCustomers! },
      repeatPurchases: { day: repeatDay!, purchases: repeatPurchases! },
      holdoutEnd: bounds!.holdout_end,
      holdoutDays: Number(bounds!.holdout_days),
    };
  });
}
