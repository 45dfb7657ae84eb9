// The bench's daily run: the newest days of every export are held back from
// the full run and arrive as a later run's new data, as a day's exports would.
// Web events come as one folder per day; CRM and email exports are split at
// the first held-back day, the newer rows going to a `<name>-daily.csv` file
// that the sources' file patterns also match.
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { parseCsvHeader } from '../pipelines/sources/files.ts';

/** The column that dates a row, per export (the file name's stream, as crm_files and email_files name them). */
const DATE_COLUMNS: Record<string, string> = {
  contacts: 'created_at',
  leads: 'created_at',
  orders: 'ordered_at',
  payments: 'paid_at',
  refunds: 'refunded_at',
  referrals: 'referred_at',
  reviews: 'reviewed_at',
  support_tickets: 'opened_at',
  marketing_spend: 'spend_month',
  campaigns: 'scheduled_at',
  email_events: 'occurred_at',
};

interface SplitFile {
  /** The export as generated, kept aside until `restoreExports`. */
  original: string;
  /** Where it was, now holding its rows before the cut. */
  path: string;
  /** Its rows from the cut on, until `bringBack` moves them beside `path`. */
  daily: string;
}

export interface HeldBack {
  /** The web event days held back (`date=YYYY-MM-DD` folders). */
  days: string[];
  /** The first held-back day: CRM and email rows from it on are held back too. */
  cutoff: string;
  files: SplitFile[];
  folder: string;
  sources: string;
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Splits `file` at `cutoff` (YYYY-MM-DD) by its date column into `before` and
 * `after`, the header in both; rows whose date is not a date (the malformed
 * rows the generator adds on purpose) stay before. Returns the rows after.
 */
async function splitExport(file: string, column: string, cutoff: string, before: string, after: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const early = createWriteStream(before);
  const late = createWriteStream(after);
  let index = -1;
  let held = 0;
  for await (const line of lines) {
    if (index < 0) {
      index = line.split(',').indexOf(column);
      if (index < 0) throw new Error(`${file}: no column ${column} in its header`);
      await write(early, `${line}\n`);
      await write(late, `${line}\n`);
      continue;
    }
    // The loader's own splitting of a CSV line (quoted fields, doubled quotes).
    const day = parseCsvHeader(line)[index]?.slice(0, 10) ?? '';
    const isLate = /^\d{4}-\d{2}-\d{2}$/.test(day) && day >= cutoff;
    if (isLate) held++;
    await write(isLate ? late : early, `${line}\n`);
  }
  early.end();
  late.end();
  await Promise.all([once(early, 'finish'), once(late, 'finish')]);
  return held;
}

/** The bytes of the files in a folder and its subfolders. */
function folderBytes(folder: string): number {
  return readdirSync(folder, { withFileTypes: true }).reduce(
    (sum, entry) => sum + (entry.isDirectory() ? folderBytes(path.join(folder, entry.name)) : statSync(path.join(folder, entry.name)).size),
    0,
  );
}

/**
 * Moves the newest web event days that hold at most `share` of the web
 * events (by their files' size; at least one day) out of `sources`, and the
 * CRM and email rows dated from the first of them on, into `folder`;
 * `bringBack` returns them as new data. By size, not by the count of days: later days
 * are busier, and the daily run is to add that share of the data.
 */
export async function holdBackNewestDays(sources: string, folder: string, share: number): Promise<HeldBack> {
  const web = path.join(sources, 'web');
  const allDays = readdirSync(web).filter((name) => name.startsWith('date=')).sort();
  const sizes = allDays.map((day) => folderBytes(path.join(web, day)));
  const wanted = share * sizes.reduce((sum, size) => sum + size, 0);
  let first = allDays.length - 1;
  let held = sizes[first]!;
  while (first > 0 && held + sizes[first - 1]! <= wanted) held += sizes[--first]!;
  const days = allDays.slice(first);
  const cutoff = days[0]!.slice('date='.length);
  mkdirSync(folder, { recursive: true });
  for (const day of days) renameSync(path.join(web, day), path.join(folder, day));
  const files: SplitFile[] = [];
  for (const domain of ['crm', 'email']) {
    const originals = path.join(folder, 'originals', domain);
    mkdirSync(originals, { recursive: true });
    for (const name of readdirSync(path.join(sources, domain)).filter((file) => file.endsWith('.csv')).sort()) {
      const stream = Object.keys(DATE_COLUMNS).find((prefix) => name.startsWith(prefix));
      // Monthly email activity files before the cut's month hold nothing to hold back.
      const month = /-(\d{4}-\d{2})\.csv$/.exec(name)?.[1];
      if (!stream || (month && month < cutoff.slice(0, 7))) continue;
      const file = path.join(sources, domain, name);
      const original = path.join(originals, name);
      const daily = path.join(folder, `${name.replace(/\.csv$/, '')}-daily.csv`);
      renameSync(file, original);
      const held = await splitExport(original, DATE_COLUMNS[stream]!, cutoff, file, daily);
      if (held === 0) {
        rmSync(daily);
        renameSync(original, file);
      } else files.push({ original, path: file, daily });
    }
  }
  return { days, cutoff, files, folder, sources };
}

/** Puts the held-back days and rows where the sources read them, as new files. */
export function bringBack(held: HeldBack): void {
  for (const day of held.days) renameSync(path.join(held.folder, day), path.join(held.sources, 'web', day));
  for (const file of held.files) renameSync(file.daily, path.join(path.dirname(file.path), path.basename(file.daily)));
}

/** Puts every export back as generated (one file per export), for the steps that read them whole. */
export function restoreExports(held: HeldBack): void {
  for (const file of held.files) {
    rmSync(path.join(path.dirname(file.path), path.basename(file.daily)), { force: true });
    renameSync(file.original, file.path);
  }
}
