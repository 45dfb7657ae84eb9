// The bench's daily run holds back the newest days of every export (1 % of
// the web events in the bench, 10 % here): what it holds back and what stays
// add up to the exports, split by date, and the exports come back as
// generated.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { bringBack, holdBackNewestDays, restoreExports, type HeldBack } from '../../bench/daily.ts';
import { parseCsvHeader } from '../../pipelines/sources/files.ts';
import { generateDemoSources, tempDir } from '../helpers.ts';

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const dataLines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n').slice(1);

describe('the daily run of the bench', () => {
  let dir: string;
  let sources: string;
  let held: HeldBack;
  const generated = new Map<string, string>();
  const dayBytes = new Map<string, number>();

  beforeAll(async () => {
    dir = tempDir();
    sources = path.join(dir, 'sources');
    await generateDemoSources(dir, { customers: 400, seed: 7, startDate: '2025-01-01', endDate: '2025-03-31' });
    for (const domain of ['crm', 'email']) {
      for (const name of readdirSync(path.join(sources, domain))) generated.set(path.join(domain, name), digest(path.join(sources, domain, name)));
    }
    // Each day's web event bytes as find lists its files, before anything moves.
    const web = path.join(sources, 'web');
    for (const day of readdirSync(web).sort()) {
      const sizes = execFileSync('find', [path.join(web, day), '-type', 'f', '-printf', '%s\n'], { encoding: 'utf8' }).trim().split('\n');
      dayBytes.set(day, sizes.reduce((sum, size) => sum + Number(size), 0));
    }
    held = await holdBackNewestDays(sources, path.join(dir, 'held-back'), 0.1);
  });

  it('reads the date of a row after a quoted field with commas and doubled quotes', () => {
    expect(parseCsvHeader('a,"{""x"": 1, ""y"": 2}",2025-03-01T00:00:00Z')[2]).toBe('2025-03-01T00:00:00Z');
  });

  it('holds back the newest days that hold at most 10 % of the web events, and the CRM and email rows dated from the first of them', () => {
    const days = [...dayBytes.keys()];
    const total = [...dayBytes.values()].reduce((sum, bytes) => sum + bytes, 0);
    const heldBytes = held.days.reduce((sum, day) => sum + dayBytes.get(day)!, 0);
    // The newest days, as many as fit in 10 % of the bytes: one more would not.
    expect(held.days).toEqual(days.slice(days.length - held.days.length));
    expect(heldBytes).toBeLessThanOrEqual(0.1 * total);
    expect(heldBytes + dayBytes.get(days[days.length - held.days.length - 1]!)!).toBeGreaterThan(0.1 * total);
    // The shop grows over the 90 days: its last days are busier than the average day, so fewer than 9 of them.
    expect(held.days.length).toBeLessThan(9);
    expect(held.days.at(-1)).toBe('date=2025-03-31');
    expect(held.cutoff).toBe(held.days[0]!.slice('date='.length));
    expect(readdirSync(path.join(sources, 'web')).sort().at(-1)).toBe(days[days.length - held.days.length - 1]);
    const split = held.files.map((file) => path.basename(file.path));
    // Orders, payments and email events are made every day; spend is booked on the 1st, before the cut.
    expect(split).toEqual(expect.arrayContaining(['orders.csv', 'payments.csv', 'email_events-2025-03.csv']));
    expect(split).not.toContain('marketing_spend.csv');
    for (const file of held.files) {
      const stays = dataLines(file.path);
      const comes = dataLines(file.daily);
      expect(comes.length, file.daily).toBeGreaterThan(0);
      // Every row of the export once, on one side of the cut.
      expect([...stays, ...comes].sort()).toEqual(dataLines(file.original).sort());
      const header = readFileSync(file.original, 'utf8').split('\n')[0]!.split(',');
      const column = header.findIndex((name) => /^(created_at|ordered_at|paid_at|refunded_at|referred_at|reviewed_at|opened_at|spend_month|scheduled_at|occurred_at)$/.test(name));
      for (const line of comes) expect(parseCsvHeader(line)[column]!.slice(0, 10) >= held.cutoff, line).toBe(true);
      for (const line of stays) expect(parseCsvHeader(line)[column]!.slice(0, 10) < held.cutoff || !/^\d{4}-\d{2}-\d{2}/.test(parseCsvHeader(line)[column]!), line).toBe(true);
    }
  });

  it('brings the held-back rows as new files the sources read, then puts the exports back as generated', () => {
    bringBack(held);
    expect(readdirSync(path.join(sources, 'web')).sort().at(-1)).toBe('date=2025-03-31');
    for (const file of held.files) expect(existsSync(path.join(path.dirname(file.path), path.basename(file.daily)))).toBe(true);
    expect(readdirSync(path.join(sources, 'crm'))).toContain('orders-daily.csv');
    restoreExports(held);
    const now = new Map<string, string>();
    for (const domain of ['crm', 'email']) {
      for (const name of readdirSync(path.join(sources, domain))) now.set(path.join(domain, name), digest(path.join(sources, domain, name)));
    }
    expect(now).toEqual(generated);
  });
});
