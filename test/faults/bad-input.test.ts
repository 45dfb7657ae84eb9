// Bad input: a corpus of broken files across the file source kinds (CRM CSV,
// web NDJSON, CSV, gzip and Parquet, email CSV). Each case loads into a fresh
// warehouse and must end in a clear error that loads nothing of the file, or
// in per-row quarantine with the reason. Either way the counts add up: rows
// read (counted by hand for each case) = loaded + quarantined, and the raw
// table and _meta.quarantine hold exactly those rows.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';

import { loadConfig } from '../../pipelines/config.ts';
import { createLogger } from '../../pipelines/log.ts';
import { extractSource } from '../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows, type Warehouse } from '../../pipelines/warehouse.ts';
import { tempDir, writeConfig } from '../helpers.ts';
import { faultClass } from './fault-class.ts';

type Domain = 'crm' | 'web' | 'email';
type Files = Record<string, string | Buffer | ((warehouse: Warehouse, file: string) => Promise<void>)>;

interface Outcome {
  /** Rows in the files, counted by hand: what rows_read must be. */
  read: number;
  loaded: number;
  quarantined: number;
  /** Every quarantine reason of the stream matches this. */
  reason?: RegExp;
  /** The quarantined records, in any order: each exactly as it came in. */
  records?: string[];
  /** The stream fails with this message; nothing of the failing file is loaded. */
  error?: RegExp;
}

interface BadInputCase {
  name: string;
  domain: Domain;
  stream: string;
  files: Files;
  /** Written after a first extract, for a second one that the outcome describes. */
  later?: Files;
  expected: Outcome;
  /** A further check on the loaded rows: SQL giving one row that must equal `rowEquals`. */
  rowSql?: string;
  rowEquals?: Record<string, unknown>;
}

const ORDERS = 'order_id,contact_id,ordered_at,status,amount,currency';
const order = (id: string, fields: Partial<Record<'contact' | 'at' | 'status' | 'amount' | 'currency', string>> = {}) =>
  [id, fields.contact ?? 'c1', fields.at ?? '2024-01-03T10:00:00Z', fields.status ?? 'paid', fields.amount ?? '20.00', fields.currency ?? 'EUR'].join(',');
const csv = (...lines: string[]) => lines.join('\n') + '\n';
const webEvent = (id: string, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ event_id: id, anonymous_id: 'a1', event_type: 'page_view', occurred_at: '2024-01-02T08:00:00Z', ...fields });
const ndjson = (...lines: string[]) => lines.join('\n') + '\n';
const EMAIL = 'event_id,campaign_id,subscriber_email,event_type,occurred_at';
const parquet =
  (select: string) =>
  async (warehouse: Warehouse, file: string): Promise<void> => {
    await warehouse.connection.run(`copy (${select}) to '${file}' (format parquet)`);
  };

const CASES: BadInputCase[] = [
  // CSV quoting and layout
  {
    name: 'a quote that is never closed',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1'), 'o2,c1,"2024-01-03T10:00:00Z,paid,20.00,EUR') },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed CSV: / },
  },
  {
    name: 'a line with a field too many',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, `${order('o1')},surplus`, order('o2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed CSV: TOO MANY COLUMNS/ },
  },
  {
    name: 'a line with fields missing',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1'), 'o2,c1') },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed CSV: MISSING COLUMNS/ },
  },
  {
    name: 'a quoted field holding a comma and a line break',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, 'o1,c1,2024-01-03T10:00:00Z,"paid, then\nrefunded",20.00,EUR') },
    expected: { read: 1, loaded: 1, quarantined: 0 },
    rowSql: `select status from raw_crm.orders`,
    rowEquals: { status: 'paid, then\nrefunded' },
  },
  {
    name: 'the wrong delimiter',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS.replaceAll(',', ';'), order('o1').replaceAll(',', ';')) },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /orders\.csv: missing required column\(s\) order_id, contact_id, ordered_at, status, currency \(header: order_id;contact_id/ },
  },
  {
    name: 'a required column missing',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv('order_id,contact_id,ordered_at,status,amount', 'o1,c1,2024-01-03T10:00:00Z,paid,20.00') },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /orders\.csv: missing required column\(s\) currency \(header: order_id,contact_id,ordered_at,status,amount\)/ },
  },
  {
    name: 'a required column renamed',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS.replace('ordered_at', 'order_date'), order('o1')) },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /orders\.csv: missing required column\(s\) ordered_at \(header: order_id,contact_id,order_date,/ },
  },
  {
    name: 'an extra column (schema drift) is ignored, the rest loads',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(`${ORDERS},coupon_code`, `${order('o1')},WINTER`, `${order('o2')},`) },
    expected: { read: 2, loaded: 2, quarantined: 0 },
  },
  {
    name: 'columns in another order',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv('currency,amount,status,ordered_at,contact_id,order_id', 'USD,7.25,paid,2024-01-03T10:00:00Z,c9,o1') },
    expected: { read: 1, loaded: 1, quarantined: 0 },
    rowSql: `select contact_id, amount::varchar as amount, currency from raw_crm.orders`,
    rowEquals: { contact_id: 'c9', amount: '7.25', currency: 'USD' },
  },
  {
    name: 'a byte-order mark and CRLF line endings',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': `\uFEFF${ORDERS}\r\n${order('o1')}\r\n${order('o2')}\r\n` },
    expected: { read: 2, loaded: 2, quarantined: 0 },
    rowSql: `select count(*) filter (where currency = 'EUR') as eur from raw_crm.orders`,
    rowEquals: { eur: 2n },
  },
  // Values
  {
    name: 'a number that is not one',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1'), order('o2', { amount: 'twelve' })) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^amount: not a DECIMAL\(18,2\): twelve$/ },
  },
  {
    name: 'an impossible date (30 February)',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { at: '2024-02-30T10:00:00Z' }), order('o2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^ordered_at: not a TIMESTAMP WITH TIME ZONE: 2024-02-30T10:00:00Z$/ },
  },
  {
    name: 'a timestamp in the future',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { at: '2099-06-01T10:00:00Z' }), order('o2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^ordered_at: fails the contract's check \(ordered_at < \(now\(\) \+ CAST\('1 day' AS INTERVAL\)\)\): 2099-06-01T10:00:00Z$/ },
  },
  {
    name: 'a negative amount',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { amount: '-5.00' }), order('o2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^amount: fails the contract's check \(amount >= 0\): -5\.00$/ },
  },
  {
    name: 'an amount too large for the contract',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { amount: '1e20' }), order('o2', { amount: '9999999999999999.99' })) },
    // DECIMAL(18,2) holds up to 16 digits before the point.
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^amount: not a DECIMAL\(18,2\): 1e20$/ },
  },
  {
    name: 'a required value left empty',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { contact: '' }), order('o2', { contact: '   ' })) },
    expected: { read: 2, loaded: 0, quarantined: 2, reason: /^contact_id: required but empty$/ },
  },
  {
    // Trimmed like trim() does: Unicode space separators, not only ASCII spaces.
    name: 'values padded with spaces and no-break spaces, trimmed before they are checked and cast',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { amount: ' 12.50\u00a0' }), order('o2', { contact: '\u00a0\u3000' })) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^contact_id: required but empty$/ },
    rowSql: `select order_id, amount::varchar as amount from raw_crm.orders`,
    rowEquals: { order_id: 'o1', amount: '12.50' },
  },
  {
    name: 'several faults in one row, all named',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { contact: '', amount: 'n/a', currency: '' })) },
    expected: { read: 1, loaded: 0, quarantined: 1, reason: /^contact_id: required but empty; amount: not a DECIMAL\(18,2\): n\/a; currency: required but empty$/ },
  },
  // Keys
  {
    name: 'a key repeated within a file (the last row wins)',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1'), order('o1', { status: 'refunded' })) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^duplicate key in this load; .*orders\.csv record 2 kept$/ },
    rowSql: `select status from raw_crm.orders`,
    rowEquals: { status: 'refunded' },
  },
  {
    name: 'a key repeated across two files of one load (the later file wins)',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders-1.csv': csv(ORDERS, order('o1')), 'orders-2.csv': csv(ORDERS, order('o1', { amount: '25.00' })) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^duplicate key in this load; .*orders-2\.csv record 1 kept$/ },
    rowSql: `select amount::varchar as amount from raw_crm.orders`,
    rowEquals: { amount: '25.00' },
  },
  {
    name: 'an event sent twice is kept twice in raw (the staging model picks one)',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1'), webEvent('w1')) },
    expected: { read: 2, loaded: 2, quarantined: 0 },
  },
  // Encodings and sizes
  {
    name: 'a CSV line that is not valid UTF-8',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': Buffer.concat([Buffer.from(`${ORDERS}\n${order('o1')}\no2,c1,2024-01-03T10:00:00Z,pay`), Buffer.from([0xe9, 0x0a]), Buffer.from(`${order('o3')}\n`)]) },
    expected: { read: 3, loaded: 2, quarantined: 1, reason: /^malformed CSV: INVALID ENCODING/ },
  },
  {
    name: 'a Latin-1 email export read as UTF-8',
    domain: 'email',
    stream: 'events',
    files: { 'email_events.csv': Buffer.concat([Buffer.from(`${EMAIL}\ne1,CMP1,jos`), Buffer.from([0xe9]), Buffer.from('@example.com,sent,2024-01-08T09:00:00Z\ne2,CMP1,ann@example.com,sent,2024-01-08T09:00:00Z\n')]) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed CSV: INVALID ENCODING/ },
  },
  {
    name: 'a 10 MB field in a CSV line',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1', { status: 'x'.repeat(10 * 1024 ** 2) }), order('o2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed CSV: LINE SIZE OVER MAXIMUM/ },
  },
  {
    name: 'a 10 MB JSON line',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1', { page_url: `/${'x'.repeat(10 * 1024 ** 2)}` }), webEvent('w2')) },
    // Longer than DuckDB's maximum line size (2 MB): quarantined whole, like a CSV line.
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^unreadable line: LINE SIZE OVER MAXIMUM/ },
  },
  // Empty files
  {
    name: 'an empty CSV file (no header line)',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': '' },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /orders\.csv: the file is empty, not even a header line/ },
  },
  {
    name: 'a CSV file with a header and no rows',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS) },
    expected: { read: 0, loaded: 0, quarantined: 0 },
  },
  {
    name: 'an empty NDJSON file and blank lines',
    domain: 'web',
    stream: 'events',
    files: { 'events-1.ndjson': '', 'events-2.ndjson': `\n${webEvent('w1')}\n   \n\t\n${webEvent('w2')}\n\n` },
    expected: { read: 2, loaded: 2, quarantined: 0 },
  },
  {
    name: 'blank lines keep the line numbers of the rows after them, file by file',
    domain: 'web',
    stream: 'events',
    files: { 'events-1.ndjson': ndjson(webEvent('w1'), '', webEvent('w2')), 'events-2.ndjson': ndjson('  ', webEvent('w3'), '{"event_id":"w4"') },
    expected: { read: 4, loaded: 3, quarantined: 1, reason: /^malformed JSON: / },
    // Line numbers counted by hand: w1 on line 1 and w2 on line 3 of the first file, w3 on line 2 of the second.
    rowSql: `select string_agg(event_id || '@' || regexp_extract(_origin, 'events-\\d') || ':' || _line, ' ' order by event_id) as lines,
      (select origin[-15:] || ':' || line from _meta.quarantine) as quarantined from raw_web.events`,
    rowEquals: { lines: 'w1@events-1:1 w2@events-1:3 w3@events-2:2', quarantined: 'events-2.ndjson:3' },
  },
  // JSON lines
  {
    name: 'an invalid JSON line',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1'), '{"event_id":"w2","anonym') },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^malformed JSON: \{"event_id":"w2","anonym$/, records: ['{"event_id":"w2","anonym'] },
  },
  {
    name: 'a JSON line that is not an object',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson('[1,2]', '"w3"', webEvent('w1')) },
    expected: { read: 3, loaded: 1, quarantined: 2, reason: /^not a JSON object: (\[1,2\]|"w3")$/, records: ['[1,2]', '"w3"'] },
  },
  {
    name: 'a JSON value of the wrong type',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1', { occurred_at: 1704182400 }), webEvent('w2', { occurred_at: true }), webEvent('w3')) },
    expected: { read: 3, loaded: 1, quarantined: 2, reason: /^occurred_at: not a TIMESTAMP WITH TIME ZONE: (1704182400|true)$/ },
  },
  {
    name: 'a JSON line without a required key',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(JSON.stringify({ event_id: 'w1', event_type: 'page_view', occurred_at: '2024-01-02T08:00:00Z' }), webEvent('w2')) },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^anonymous_id: required but empty$/ },
  },
  {
    name: 'a JSON event in the future',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1', { occurred_at: '2999-01-01T00:00:00Z', experiment: { arm: 'b' } }), webEvent('w2')) },
    // The line itself, keys the contract does not name among it.
    expected: {
      read: 2,
      loaded: 1,
      quarantined: 1,
      reason: /^occurred_at: fails the contract's check/,
      records: [webEvent('w1', { occurred_at: '2999-01-01T00:00:00Z', experiment: { arm: 'b' } })],
    },
  },
  {
    name: 'unknown JSON keys are ignored',
    domain: 'web',
    stream: 'events',
    files: { 'events.ndjson': ndjson(webEvent('w1', { experiment: { arm: 'b' }, score: 3 })) },
    expected: { read: 1, loaded: 1, quarantined: 0 },
  },
  // Compression and binary formats
  {
    name: 'a truncated gzip file',
    domain: 'web',
    stream: 'events',
    files: {
      'events-1.ndjson.gz': (() => {
        const whole = gzipSync(ndjson(...Array.from({ length: 200 }, (_, index) => webEvent(`w${index}`))));
        return whole.subarray(0, Math.floor(whole.length / 2));
      })(),
    },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /events-1\.ndjson\.gz: the gzip data is cut off or corrupt \(unexpected end of file\); nothing of it was loaded/ },
  },
  {
    name: 'a .gz file that is not gzip',
    domain: 'web',
    stream: 'events',
    files: { 'events-1.ndjson.gz': ndjson(webEvent('w1')) },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /events-1\.ndjson\.gz: the gzip data is cut off or corrupt \(incorrect header check\)/ },
  },
  {
    name: 'a corrupt Parquet file',
    domain: 'web',
    stream: 'events',
    files: { 'events-1.parquet': Buffer.from('PAR1 this is not really parquet') },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /events-1\.parquet: not a readable Parquet file/ },
  },
  {
    name: 'a Parquet column of the wrong type',
    domain: 'web',
    stream: 'events',
    files: {
      'events-1.parquet': parquet(
        `select * from (values ('w1', 'a1', 'page_view', 20240102), ('w2', 'a1', 'page_view', 20240103)) as t(event_id, anonymous_id, event_type, occurred_at)`,
      ),
    },
    expected: { read: 2, loaded: 0, quarantined: 2, reason: /^occurred_at: not a TIMESTAMP WITH TIME ZONE: 2024010[23]$/ },
  },
  {
    name: 'CSV events with a timestamp offset and one without (read as UTC)',
    domain: 'web',
    stream: 'events',
    files: { 'events-1.csv': csv('event_id,anonymous_id,event_type,occurred_at', 'w1,a1,page_view,2024-01-02T09:30:00+02:00', 'w2,a1,page_view,2024-01-02 07:30:00') },
    expected: { read: 2, loaded: 2, quarantined: 0 },
    rowSql: `select count(distinct occurred_at) as instants from raw_web.events`,
    rowEquals: { instants: 1n },
  },
  // Files that change
  {
    name: 'a file replaced after it was loaded',
    domain: 'crm',
    stream: 'orders',
    files: { 'orders.csv': csv(ORDERS, order('o1')) },
    later: { 'orders.csv': csv(ORDERS, order('o1', { amount: '99.00' })) },
    expected: { read: 0, loaded: 0, quarantined: 0, error: /orders\.csv changed since it was loaded .*Run `tango extract --source crm --full-refresh`/ },
    rowSql: `select amount::varchar as amount from raw_crm.orders`,
    rowEquals: { amount: '20.00' },
  },
  {
    name: 'a new file beside one already loaded',
    domain: 'email',
    stream: 'events',
    files: { 'email_events-1.csv': csv(EMAIL, 'e1,CMP1,ann@example.com,sent,2024-01-08T09:00:00Z') },
    later: { 'email_events-2.csv': csv(EMAIL, 'e2,CMP1,ann@example.com,opened,2024-01-08T10:00:00Z', 'e3,CMP1,,opened,2024-01-08T10:00:00Z') },
    expected: { read: 2, loaded: 1, quarantined: 1, reason: /^subscriber_email: required but empty$/ },
  },
];

const log = createLogger({ quiet: true });

/** Writes the files, extracts the one source and returns the stream's counts. */
async function extractCase(warehouse: Warehouse, configFile: string, folder: string, files: Files, stream: string): Promise<StreamCounts> {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(folder, name);
    if (typeof content === 'function') await content(warehouse, file);
    else writeFileSync(file, content);
  }
  const [source] = loadConfig(configFile).sources;
  const counts = await extractSource({ connection: warehouse.connection, runId: 'fault-case', log }, source!);
  return counts.find((candidate) => candidate.stream === stream)!;
}

faultClass('bad input', 'a clear error loading nothing of the file, or per-row quarantine with the reason; loaded + quarantined = read (counted by hand), in the counts and in the tables', () => {
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const dir = tempDir('tango-fault-');
    const folder = path.join(dir, 'sources', testCase.domain);
    mkdirSync(folder, { recursive: true });
    const configFile = writeConfig(dir, {
      warehouse: { path: 'warehouse.duckdb' },
      sources: [{ name: testCase.domain, kind: `${testCase.domain}_files`, path: `sources/${testCase.domain}` }],
    });
    const warehouse = await openWarehouse(path.join(dir, 'warehouse.duckdb'));
    try {
      await applyMetaContract(warehouse.connection);
      let loadedBefore = 0;
      let counts = await extractCase(warehouse, configFile, folder, testCase.files, testCase.stream);
      if (testCase.later) {
        expect(counts.error).toBeUndefined();
        loadedBefore = counts.rows_loaded;
        counts = await extractCase(warehouse, configFile, folder, testCase.later, testCase.stream);
      }
      const { expected } = testCase;
      if (expected.error) expect(counts.error).toMatch(expected.error);
      else expect(counts.error).toBeUndefined();
      expect({ read: counts.rows_read, loaded: counts.rows_loaded, quarantined: counts.rows_quarantined }).toEqual({
        read: expected.read,
        loaded: expected.loaded,
        quarantined: expected.quarantined,
      });
      expect(counts.rows_read).toBe(counts.rows_loaded + counts.rows_quarantined);

      const table = `raw_${testCase.domain}.${testCase.stream}`;
      const [stored] = await queryRows<{ rows: bigint; quarantined: bigint }>(
        warehouse.connection,
        `select (select count(*) from ${table}) as rows,
           (select count(*) from _meta.quarantine where stream = $stream) as quarantined`,
        { stream: testCase.stream },
      );
      expect(Number(stored!.rows)).toBe(loadedBefore + expected.loaded);
      expect(Number(stored!.quarantined)).toBe(expected.quarantined);
      if (expected.reason) {
        const reasons = await queryRows<{ reason: string }>(warehouse.connection, `select reason from _meta.quarantine where stream = $stream`, {
          stream: testCase.stream,
        });
        for (const { reason } of reasons) expect(reason).toMatch(expected.reason);
      }
      if (expected.records) {
        const records = await queryRows<{ record: string }>(warehouse.connection, `select record from _meta.quarantine where stream = $stream`, {
          stream: testCase.stream,
        });
        expect(records.map(({ record }) => record).sort()).toEqual([...expected.records].sort());
      }
      if (testCase.rowSql) expect((await queryRows(warehouse.connection, testCase.rowSql))[0]).toEqual(testCase.rowEquals);
    } finally {
      warehouse.close();
    }
  });
});
