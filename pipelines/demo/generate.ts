// The demo generator: source exports of a made-up shop, written as its CRM,
// web analytics and email service would export them. Deterministic: the same
// seed and size give byte-identical files. Customers are written one at a time
// to streams, so memory does not grow with the size.
import { once } from 'node:events';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';

import { createRandom, type Random } from './random.ts';

export interface DemoFolders {
  crm: string;
  web: string;
  email: string;
}

export interface GenerateOptions {
  /** Where each source system's exports go; each folder is emptied first. */
  folders: DemoFolders;
  customers: number;
  seed: number;
  /** First day of the simulated history (UTC). */
  startDate: string;
  /** Last day of the simulated history (UTC); nothing happens after it. */
  endDate: string;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_GENERATE_OPTIONS = {
  customers: 5000,
  seed: 42,
  startDate: '2023-01-01',
  endDate: '2024-12-31',
} as const;

/** The behaviour of the demo population, in one place. */
const MODEL = {
  channels: { organic: 35, paid_search: 25, social: 15, email: 10, referral: 15 },
  countries: { DE: 30, FR: 20, GB: 20, NL: 10, US: 20 },
  /** Share of contacts who ever buy. */
  buyerShare: 0.55,
  /** Mean days from sign-up to first order. */
  meanDaysToFirstOrder: 12,
  /** Repeat purchase rate per day ~ Gamma(shape, scale): mean one order every ~100 days. */
  purchaseRate: { shape: 1.2, scale: 1 / 120 },
  /** Probability of dropping out after each purchase ~ Beta(a, b). */
  dropout: { a: 1, b: 4 },
  /** Order value ~ Gamma(shape, scale) around the customer's own mean. */
  orderValue: { shape: 6, scale: 9 },
  orderStatus: { paid: 90, refunded: 6, cancelled: 4 },
  /** One campaign a week; open and click probabilities for a live customer. */
  emailOpen: 0.3,
  emailClick: 0.08,
} as const;

const DAY_MS = 86_400_000;
const FIRST_NAMES = ['Ada', 'Ben', 'Chloé', 'Daan', 'Emma', 'Finn', 'Greta', 'Hugo', 'Inès', 'Jonas', 'Klara', 'Liam', 'Mia', 'Noah', 'Olivia', 'Paul'];
const LAST_NAMES = ['Müller', 'Martin', 'Smith', 'de Vries', 'Schmidt', 'Bernard', 'Jones', 'Jansen', 'Weber', 'Dubois', 'Taylor', 'Bakker'];
const PRODUCTS = ['shampoo', 'conditioner', 'soap', 'lotion', 'serum', 'toothpaste'];

class LineWriter {
  private readonly gzip: Gzip | undefined;
  private readonly target: WriteStream;
  private readonly head: NodeJS.WritableStream;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.target = createWriteStream(file);
    this.gzip = file.endsWith('.gz') ? createGzip({ level: 6 }) : undefined;
    if (this.gzip) this.gzip.pipe(this.target);
    this.head = this.gzip ?? this.target;
  }

  async write(line: string): Promise<void> {
    if (!this.head.write(line + '\n')) await once(this.head, 'drain');
  }

  async close(): Promise<void> {
    const finished = once(this.target, 'close');
    this.head.end();
    await finished;
  }
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(values: (string | number | null)[]): string {
  return values.map(csvField).join(',');
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function slug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase();
}

interface Counts {
  contacts: number;
  orders: number;
  webEvents: number;
  emailEvents: number;
}

/** Writes the CRM, web and email exports into their folders, replacing what was there. */
export async function generateDemoData(options: GenerateOptions): Promise<Counts> {
  const random: Random = createRandom(options.seed);
  const start = Date.parse(`${options.startDate}T00:00:00Z`);
  const end = Date.parse(`${options.endDate}T23:59:59Z`);
  if (!(start < end)) throw new Error(`startDate ${options.startDate} must be before endDate ${options.endDate}`);
  const { folders } = options;
  for (const folder of Object.values(folders)) rmSync(folder, { recursive: true, force: true });

  const contacts = new LineWriter(path.join(folders.crm, 'contacts.csv'));
  const orders = new LineWriter(path.join(folders.crm, 'orders.csv'));
  const emailEvents = new LineWriter(path.join(folders.email, 'email_events.csv'));
  // One web file per calendar year keeps the demo small; real drops are daily.
  const webWriters = new Map<string, LineWriter>();
  const webWriter = (ms: number) => {
    const year = new Date(ms).toISOString().slice(0, 4);
    let writer = webWriters.get(year);
    if (!writer) {
      writer = new LineWriter(path.join(folders.web, `events-${year}.ndjson.gz`));
      webWriters.set(year, writer);
    }
    return writer;
  };
  await contacts.write('contact_id,email,first_name,last_name,country,acquisition_channel,referred_by_contact_id,created_at,updated_at');
  await orders.write('order_id,contact_id,ordered_at,status,amount,currency');
  await emailEvents.write('event_id,campaign_id,subscriber_email,event_type,occurred_at');

  const counts: Counts = { contacts: 0, orders: 0, webEvents: 0, emailEvents: 0 };
  const firstCampaign = start + 3 * DAY_MS;
  let orderSeq = 0;
  let webSeq = 0;
  let emailSeq = 0;

  for (let i = 1; i <= options.customers; i++) {
    const contactId = `C${String(i).padStart(7, '0')}`;
    const firstName = random.pick(FIRST_NAMES);
    const lastName = random.pick(LAST_NAMES);
    const email = `${slug(firstName)}.${slug(lastName)}.${i}@example.com`;
    const channel = random.weighted(MODEL.channels);
    const referrer = channel === 'referral' && i > 1 ? `C${String(random.int(1, i - 1)).padStart(7, '0')}` : null;
    const createdAt = start + Math.floor(random.next() * (end - start - 30 * DAY_MS));
    await contacts.write(
      csvLine([contactId, email, firstName, lastName, random.weighted(MODEL.countries), channel, referrer, iso(createdAt), iso(createdAt)]),
    );
    counts.contacts++;

    // Web: a few anonymous visits, then the sign-up that ties the cookie to the email.
    const anonymousId = `anon-${(random.next() * 1e12).toFixed(0)}`;
    const utm = channel === 'organic' ? [null, null, null] : [channel.replace('_', '-'), channel === 'paid_search' ? 'cpc' : channel, `campaign-${random.int(1, 6)}`];
    const visits = random.int(1, 4);
    for (let v = visits; v >= 1; v--) {
      const at = createdAt - v * random.int(1, 3) * DAY_MS;
      await webWriter(Math.max(at, start)).write(
        JSON.stringify({
          event_id: `W${++webSeq}`,
          anonymous_id: anonymousId,
          user_email: null,
          event_type: 'page_view',
          occurred_at: iso(Math.max(at, start)),
          page_url: '/',
          utm_source: utm[0],
          utm_medium: utm[1],
          utm_campaign: utm[2],
          device: random.pick(['desktop', 'mobile', 'tablet']),
        }),
      );
      counts.webEvents++;
    }
    await webWriter(createdAt).write(
      JSON.stringify({
        event_id: `W${++webSeq}`,
        anonymous_id: anonymousId,
        user_email: email,
        event_type: 'sign_up',
        occurred_at: iso(createdAt),
        page_url: '/signup',
        utm_source: utm[0],
        utm_medium: utm[1],
        utm_campaign: utm[2],
        device: 'desktop',
      }),
    );
    counts.webEvents++;

    // Orders: a buy-till-you-die process with a personal rate and drop-out probability.
    let aliveUntil = end;
    if (random.chance(MODEL.buyerShare)) {
      const rate = random.gamma(MODEL.purchaseRate.shape, MODEL.purchaseRate.scale);
      const dropout = random.beta(MODEL.dropout.a, MODEL.dropout.b);
      const meanValue = random.gamma(MODEL.orderValue.shape, MODEL.orderValue.scale);
      let at = createdAt + random.exponential(MODEL.meanDaysToFirstOrder) * DAY_MS;
      while (at <= end) {
        const status = random.weighted(MODEL.orderStatus);
        const amount = Math.max(1, random.gamma(4, meanValue / 4)).toFixed(2);
        await orders.write(csvLine([`O${String(++orderSeq).padStart(8, '0')}`, contactId, iso(at), status, amount, 'EUR']));
        counts.orders++;
        await webWriter(at).write(
          JSON.stringify({
            event_id: `W${++webSeq}`,
            anonymous_id: anonymousId,
            user_email: email,
            event_type: 'add_to_cart',
            occurred_at: iso(at - 600_000),
            page_url: `/products/${random.pick(PRODUCTS)}`,
            utm_source: null,
            utm_medium: null,
            utm_campaign: null,
            device: random.pick(['desktop', 'mobile']),
          }),
        );
        counts.webEvents++;
        if (random.chance(dropout)) {
          aliveUntil = at;
          break;
        }
        at += random.exponential(1 / rate) * DAY_MS;
      }
    }

    // Email: weekly campaigns from sign-up on; engagement stops when the customer drops out.
    const firstWeek = Math.max(0, Math.ceil((createdAt - firstCampaign) / (7 * DAY_MS)));
    for (let week = firstWeek; ; week += random.int(1, 4)) {
      const sentAt = firstCampaign + week * 7 * DAY_MS;
      if (sentAt > end) break;
      const campaign = `CMP${String(week + 1).padStart(4, '0')}`;
      const engaged = sentAt <= aliveUntil;
      const events: [string, number][] = [['sent', sentAt]];
      if (engaged && random.chance(MODEL.emailOpen)) {
        events.push(['opened', sentAt + random.int(1, 48) * 3_600_000]);
        if (random.chance(MODEL.emailClick / MODEL.emailOpen)) events.push(['clicked', sentAt + random.int(49, 72) * 3_600_000]);
      }
      for (const [type, at] of events) {
        if (at > end) continue;
        await emailEvents.write(csvLine([`E${++emailSeq}`, campaign, email, type, iso(at)]));
        counts.emailEvents++;
      }
    }
    if (i % 500 === 0 || i === options.customers) options.onProgress?.(i, options.customers);
  }

  await Promise.all([contacts.close(), orders.close(), emailEvents.close(), ...[...webWriters.values()].map((writer) => writer.close())]);
  return counts;
}
