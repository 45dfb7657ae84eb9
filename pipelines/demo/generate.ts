// The demo generator: the source systems of a made-up shop, written as its
// CRM, web analytics and email service would export them, plus the ground
// truth behind them. Behaviour follows the model in model.ts; data-quality
// warts are added at the rates in DEMO_WARTS and counted.
//
// Deterministic: the same seed, size and dates give byte-identical files.
// People are simulated one at a time, in sign-up order, each with its own
// random stream, and written straight to buffered streams, so memory stays
// flat however many there are (the only shared state is a bounded queue of
// pending referral invites and one open file per day of web events).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { DEMO_MODEL, DEMO_WARTS } from './model.ts';
import { createRandom, type Random } from './random.ts';
import { csvLine, FlushQueue, jsonValue, LineWriter, PartitionedWriter } from './writers.ts';

export interface DemoFolders {
  crm: string;
  web: string;
  email: string;
}

export interface GenerateOptions {
  /** Where each source system's exports go; each folder is emptied first. */
  folders: DemoFolders;
  /** Where the ground truth goes (parameters.json, customers.csv.gz); emptied first. */
  truthFolder: string;
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
  endDate: '2025-12-31',
} as const;

/** The file streams the generator writes, as the loader names them. */
export const GENERATED_STREAMS = [
  'crm.contacts',
  'crm.leads',
  'crm.orders',
  'crm.payments',
  'crm.refunds',
  'crm.referrals',
  'crm.reviews',
  'crm.marketing_spend',
  'crm.support_tickets',
  'web.events',
  'email.campaigns',
  'email.events',
] as const;
export type GeneratedStream = (typeof GENERATED_STREAMS)[number];

export interface GenerateResult {
  /** Valid rows written per stream (malformed ones not included). */
  rows: Record<GeneratedStream, number>;
  /** Malformed rows added per stream; the loader must quarantine exactly these. */
  malformed: Record<GeneratedStream, number>;
  people: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const FIRST_NAMES = ['Ada', 'Ben', 'Chloé', 'Daan', 'Emma', 'Finn', 'Greta', 'Hugo', 'Inès', 'Jonas', 'Klara', 'Liam', 'Mia', 'Noah', 'Olivia', 'Paul', 'Sofia', 'Timo', 'Zoë', 'Lucas'];
const LAST_NAMES = ['Müller', 'Martin', 'Smith', 'de Vries', 'Schmidt', 'Bernard', 'Jones', 'Jansen', 'Weber', 'Dubois', 'Taylor', 'Bakker', 'Garcia', 'Brown'];
const CITIES: Record<string, readonly string[]> = {
  DE: ['Berlin', 'Hamburg', 'München', 'Köln'],
  FR: ['Paris', 'Lyon', 'Marseille', 'Lille'],
  GB: ['London', 'Manchester', 'Leeds', 'Bristol'],
  NL: ['Amsterdam', 'Rotterdam', 'Utrecht'],
  US: ['New York', 'Chicago', 'Austin', 'Seattle'],
};
/** The fixed UTC offset a country's systems write local times with (hours). */
const LOCAL_OFFSET_HOURS: Record<string, number> = { DE: 1, FR: 1, NL: 1, GB: 0, US: -5 };
const MAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
const PRODUCTS = Array.from({ length: 40 }, (_, index) => `P${String(index + 1).padStart(3, '0')}`);
const UTM: Record<string, readonly [string, string, string] | null> = {
  organic: null,
  paid_search: ['google', 'cpc', 'generic-search'],
  social: ['instagram', 'social', 'creator-collab'],
  email: ['newsletter', 'email', 'partner-list'],
  referral: ['referral', 'referral', 'invite-a-friend'],
};

type Channel = keyof typeof DEMO_MODEL.channelMix.start;
const CHANNELS = Object.keys(DEMO_MODEL.channelMix.start) as Channel[];

/** A 32-bit hash of (seed, index): each person gets an independent random stream. */
function personSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x01000193) ^ index;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** Formats instants fast: the date part comes from a table of days. */
class Clock {
  private readonly firstDay: number;
  private readonly days: string[] = [];

  constructor(startMs: number, endMs: number) {
    // Margin for local offsets and late arrivals around the history.
    this.firstDay = Math.floor(startMs / DAY_MS) - 30;
    const lastDay = Math.floor(endMs / DAY_MS) + 30;
    for (let day = this.firstDay; day <= lastDay; day++) this.days.push(new Date(day * DAY_MS).toISOString().slice(0, 10));
  }

  day(ms: number): string {
    return this.days[Math.floor(ms / DAY_MS) - this.firstDay]!;
  }

  private clock(ms: number): string {
    const seconds = Math.floor((((ms % DAY_MS) + DAY_MS) % DAY_MS) / 1000);
    return `${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`;
  }

  /** ISO 8601 in UTC: 2024-03-01T09:30:00Z. */
  utc(ms: number): string {
    return `${this.day(ms)}T${this.clock(ms)}Z`;
  }

  /** The same instant as local time with its offset: 2024-03-01T10:30:00+01:00. */
  local(ms: number, offsetHours: number): string {
    const local = ms + offsetHours * HOUR_MS;
    const sign = offsetHours < 0 ? '-' : '+';
    return `${this.day(local)}T${this.clock(local)}${sign}${pad2(Math.abs(offsetHours))}:00`;
  }
}

interface Inviter {
  person: number;
  contactId: string;
}

/** A min-heap of pending referral invites by the time the invited person may join. */
class InviteQueue {
  private times: number[] = [];
  private inviters: Inviter[] = [];
  /** Invites whose time has come, newest last; bounded. */
  private readonly ready: Inviter[] = [];

  constructor(private readonly capacity: number) {}

  push(time: number, inviter: Inviter): void {
    if (this.times.length >= this.capacity) return; // a full queue drops the invite: memory stays bounded
    this.times.push(time);
    this.inviters.push(inviter);
    let child = this.times.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.times[parent]! <= this.times[child]!) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  /** The inviter of the most recent invite due by `now`, taken off the queue. */
  take(now: number): Inviter | undefined {
    while (this.times.length && this.times[0]! <= now) {
      this.ready.push(this.inviters[0]!);
      if (this.ready.length > 10_000) this.ready.shift();
      this.popRoot();
    }
    return this.ready.pop();
  }

  private popRoot(): void {
    const lastTime = this.times.pop()!;
    const lastInviter = this.inviters.pop()!;
    if (!this.times.length) return;
    this.times[0] = lastTime;
    this.inviters[0] = lastInviter;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.times.length && this.times[left]! < this.times[smallest]!) smallest = left;
      if (right < this.times.length && this.times[right]! < this.times[smallest]!) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    [this.inviters[a], this.inviters[b]] = [this.inviters[b]!, this.inviters[a]!];
  }
}

/** Sign-up times: the i-th of n people signs up at the (i - 0.5 + jitter)/n quantile of a seasonal, growing intensity. */
class AcquisitionCurve {
  private readonly cumulative: Float64Array;

  constructor(
    private readonly startMs: number,
    private readonly days: number,
  ) {
    const { growth, seasonalAmplitude, peakDayOfYear } = DEMO_MODEL.acquisition;
    this.cumulative = new Float64Array(days + 1);
    for (let day = 0; day < days; day++) {
      const date = new Date(startMs + day * DAY_MS);
      const dayOfYear = (date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS;
      const intensity = (1 + growth * (day / days)) * (1 + seasonalAmplitude * Math.cos((2 * Math.PI * (dayOfYear - peakDayOfYear)) / 365));
      this.cumulative[day + 1] = this.cumulative[day]! + intensity;
    }
  }

  at(quantile: number): number {
    const target = quantile * this.cumulative[this.days]!;
    let low = 0;
    let high = this.days;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (this.cumulative[middle]! <= target) low = middle;
      else high = middle;
    }
    const within = (target - this.cumulative[low]!) / (this.cumulative[low + 1]! - this.cumulative[low]!);
    return this.startMs + (low + Math.min(Math.max(within, 0), 0.999999)) * DAY_MS;
  }
}

function slug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase();
}

/** How a duplicate CRM contact spells the same address: other case, stray spaces. */
function emailVariant(email: string, random: Random): string {
  const variants = [email.toUpperCase(), ` ${email}`, `${email} `, email.replace(/^./, (first) => first.toUpperCase())];
  return random.pick(variants);
}

function money(value: number): string {
  return value.toFixed(2);
}

/**
 * An export file of one stream: counts its rows, and now and then adds a
 * malformed copy of a row, as real exports have them.
 */
class Export {
  rows = 0;
  malformed = 0;
  private lastGood: string | undefined;

  constructor(
    readonly stream: GeneratedStream,
    /** Turns a good line into a malformed one. */
    private readonly corrupt: (line: string, random: Random) => string,
  ) {}

  write(writer: LineWriter, line: string, random: Random): void {
    writer.write(line);
    this.rows++;
    this.lastGood = line;
    if (random.chance(DEMO_WARTS.malformedRowShare)) {
      writer.write(this.corrupt(line, random));
      this.malformed++;
    }
  }

  /** Every export gets at least one malformed row. */
  ensureMalformed(writer: LineWriter | undefined, random: Random): void {
    if (this.malformed > 0 || !writer || this.lastGood === undefined) return;
    writer.write(this.corrupt(this.lastGood, random));
    this.malformed++;
  }
}

/** Breaks a CSV line: the key emptied, a timestamp garbled, or a field too many. */
function corruptCsv(timestampColumn: number) {
  return (line: string, random: Random): string => {
    const fields = line.split(',');
    const kind = random.int(0, 2);
    if (kind === 0) fields[0] = '';
    else if (kind === 1) fields[timestampColumn] = random.pick(['31/02/2024 25:61', 'yesterday', '2024-13-45T00:00:00Z']);
    else fields.push('unexpected');
    return fields.join(',');
  };
}

/** Breaks an NDJSON line: cut off mid-object, or an impossible timestamp. */
function corruptJson(line: string, random: Random): string {
  if (random.chance(0.5)) return line.slice(0, Math.max(10, Math.floor(line.length / 2)));
  return line.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2024-02-30T25:00:00Z"');
}

/** Writes the CRM, web and email exports and the ground truth, replacing what was there. */
export async function generateDemoData(options: GenerateOptions): Promise<GenerateResult> {
  const model = DEMO_MODEL;
  const warts = DEMO_WARTS;
  const start = Date.parse(`${options.startDate}T00:00:00Z`);
  const end = Date.parse(`${options.endDate}T23:59:59Z`);
  if (Number.isNaN(start) || Number.isNaN(end) || !(start < end)) {
    throw new Error(`startDate ${options.startDate} must be a date before endDate ${options.endDate}`);
  }
  if (!Number.isInteger(options.customers) || options.customers < 1) throw new Error(`customers must be a positive whole number`);
  const { folders } = options;
  for (const folder of [...Object.values(folders), options.truthFolder]) rmSync(folder, { recursive: true, force: true });
  mkdirSync(options.truthFolder, { recursive: true });

  const clock = new Clock(start, end);
  const totalDays = Math.round((end + 1000 - start) / DAY_MS);
  const curve = new AcquisitionCurve(start, totalDays);
  const invites = new InviteQueue(model.referrals.maxPendingInvites);

  const queue = new FlushQueue();
  const crm = (name: string) => new LineWriter(path.join(folders.crm, `${name}.csv`), queue);
  const files = {
    contacts: crm('contacts'),
    leads: crm('leads'),
    orders: crm('orders'),
    payments: crm('payments'),
    refunds: crm('refunds'),
    referrals: crm('referrals'),
    reviews: crm('reviews'),
    marketingSpend: crm('marketing_spend'),
    supportTickets: crm('support_tickets'),
    campaigns: new LineWriter(path.join(folders.email, 'campaigns.csv'), queue),
    truth: new LineWriter(path.join(options.truthFolder, 'customers.csv.gz'), queue),
  };
  const webEvents = new PartitionedWriter((day) => path.join(folders.web, `date=${day}`, 'events.ndjson.gz'), queue);
  const emailEvents = new PartitionedWriter((month) => path.join(folders.email, `email_events-${month}.csv`),
    queue,
    'event_id,campaign_id,subscriber_id,subscriber_email,event_type,occurred_at,url,bounce_type',
  );

  const exports = {
    contacts: new Export('crm.contacts', corruptCsv(13)),
    leads: new Export('crm.leads', corruptCsv(5)),
    orders: new Export('crm.orders', corruptCsv(2)),
    payments: new Export('crm.payments', corruptCsv(2)),
    refunds: new Export('crm.refunds', corruptCsv(3)),
    referrals: new Export('crm.referrals', corruptCsv(4)),
    campaigns: new Export('email.campaigns', corruptCsv(4)),
    web: new Export('web.events', corruptJson),
    email: new Export('email.events', corruptCsv(5)),
    reviews: new Export('crm.reviews', corruptCsv(3)),
    marketingSpend: new Export('crm.marketing_spend', corruptCsv(0)),
    // Last: the closing draws of the exports before it stay as they were.
    supportTickets: new Export('crm.support_tickets', corruptCsv(2)),
  };

  files.contacts.write(
    'contact_id,email,phone,first_name,last_name,gender,birth_year,country,city,acquisition_channel,referred_by_contact_id,owner,email_consent,created_at,updated_at,' +
      'social_handles,custom_properties',
  );
  files.leads.write('lead_id,contact_id,lead_type,status,amount,created_at,closed_at');
  files.orders.write('order_id,contact_id,ordered_at,status,amount,discount,currency,item_count');
  files.payments.write('payment_id,order_id,paid_at,amount,currency,method');
  files.refunds.write('refund_id,order_id,contact_id,refunded_at,amount,currency,reason');
  files.referrals.write('referral_id,referrer_contact_id,referred_email,referred_contact_id,referred_at');
  files.reviews.write('review_id,contact_id,rating,reviewed_at,product_id');
  files.marketingSpend.write('spend_month,channel,purpose,amount,currency');
  files.supportTickets.write('ticket_id,contact_id,opened_at,solved_at,status,topic,satisfaction');
  files.campaigns.write('campaign_id,name,campaign_type,subject,scheduled_at');
  files.truth.write(
    'person_id,contact_ids,email,is_internal,acquisition_channel,signed_up_at,referred_by_person_id,is_lead,is_buyer,is_replenisher,' +
      'purchase_rate_per_day,rhythm_days,dropout_probability,mean_spend,first_order_at,orders,paid_orders,dropped_out_at,is_alive_at_end',
  );

  // Campaigns: one every campaignEveryDays, at 09:00 UTC.
  const campaigns: { id: string; at: number; type: string }[] = [];
  const campaignRandom = createRandom(personSeed(options.seed, 0));
  for (let at = start + 2 * DAY_MS + 9 * HOUR_MS, index = 1; at <= end; at += model.email.campaignEveryDays * DAY_MS, index++) {
    const type = model.email.campaignTypes[(index - 1) % model.email.campaignTypes.length]!;
    const id = `CMP${String(index).padStart(4, '0')}`;
    campaigns.push({ id, at, type });
    const subject = type === 'promo' ? 'This week only: 15% off' : type === 'reminder' ? 'Running low? Reorder in one click' : `News from the shop: issue ${index}`;
    exports.campaigns.write(files.campaigns, csvLine([id, `${type} ${clock.day(at)}`, type, subject, clock.utc(at)]), campaignRandom);
  }

  let orderSeq = 0;
  let paymentSeq = 0;
  let refundSeq = 0;
  let referralSeq = 0;
  let webSeq = 0;
  let sessionSeq = 0;
  let emailSeq = 0;
  let leadSeq = 0;
  let contactSeq = 0;
  let reviewSeq = 0;
  let ticketSeq = 0;
  // What the marketing spend is booked on, per month (YYYY-MM): sign-ups per channel, campaign emails sent.
  const signUpsPerMonth = new Map<string, Map<Channel, number>>();
  const emailsSentPerMonth = new Map<string, number>();

  for (let person = 1; person <= options.customers; person++) {
    const random = createRandom(personSeed(options.seed, person));
    // Reviews draw from their own stream, so that adding them left every other draw as it was.
    const reviewRandom = createRandom(personSeed(options.seed ^ 0x5e, person));
    // Support tickets too.
    const ticketRandom = createRandom(personSeed(options.seed ^ 0x5f, person));
    const signedUpAt = curve.at((person - 1 + random.next()) / options.customers);
    const elapsed = (signedUpAt - start) / (end - start);
    const mix = Object.fromEntries(
      CHANNELS.map((channel) => [channel, model.channelMix.start[channel] * (1 - elapsed) + model.channelMix.end[channel] * elapsed]),
    ) as Record<Channel, number>;
    let channel = random.weighted(mix);
    let referrer: Inviter | undefined;
    if (channel === 'referral') {
      referrer = invites.take(signedUpAt);
      if (referrer === undefined) channel = 'organic'; // nobody has invited anyone yet
    }
    const signUpMonth = clock.day(signedUpAt).slice(0, 7);
    const monthSignUps = signUpsPerMonth.get(signUpMonth) ?? new Map<Channel, number>();
    monthSignUps.set(channel, (monthSignUps.get(channel) ?? 0) + 1);
    signUpsPerMonth.set(signUpMonth, monthSignUps);
    const isInternal = random.chance(warts.internalAccountShare);
    const firstName = isInternal ? 'Test' : random.pick(FIRST_NAMES);
    const lastName = isInternal ? random.pick(['QA', 'Internal', 'Staff']) : random.pick(LAST_NAMES);
    const country = random.weighted(model.people.countries);
    const offset = LOCAL_OFFSET_HOURS[country] ?? 0;
    const email = isInternal ? `qa+${person}@tango-shop.example` : `${slug(firstName)}.${slug(lastName)}.${person}@${random.pick(MAIL_DOMAINS)}`;
    const contactId = `C${String(++contactSeq).padStart(8, '0')}`;
    const referrerContact = referrer?.contactId ?? null;
    const consent = random.chance(model.email.consentShare);
    // Some systems write local times with an offset: the same instant either way.
    const stampFrom = (draws: Random) => (ms: number) => (draws.chance(warts.localOffsetShare) ? clock.local(ms, offset) : clock.utc(ms));
    const stamp = stampFrom(random);
    const contactFields = [
      random.weighted(model.people.genders),
      random.int(model.people.birthYears.min, model.people.birthYears.max),
      country,
      random.pick(CITIES[country] ?? ['']),
      channel,
      referrerContact,
      random.pick(model.people.owners),
      consent ? 'true' : 'false',
    ] as const;
    const phone = `+${random.int(10, 49)}${random.int(100_000_000, 999_999_999)}`;
    // Social handles and custom properties draw from their own stream, like reviews; the first contact has them.
    const profileRandom = createRandom(personSeed(options.seed ^ 0x60, person));
    const people = model.people;
    let socialHandles: string | null = null;
    if (profileRandom.chance(people.socialHandleShare)) {
      const first = profileRandom.weighted(people.socialNetworks);
      const second = profileRandom.chance(0.3) ? profileRandom.weighted(people.socialNetworks) : first;
      const handle = `@${slug(firstName)}.${slug(lastName)}${profileRandom.int(1, 99)}`;
      socialHandles = [...new Set([first, second])].map((network) => `${network}:${handle}`).join('; ');
    }
    const customProperties = profileRandom.chance(people.customPropertiesShare)
      ? JSON.stringify({
          preferred_store: profileRandom.chance(people.onlineStoreShare) ? 'online' : contactFields[3] || 'online',
          loyalty_card: profileRandom.chance(people.loyaltyCardShare),
        })
      : null;
    const writeContact = (id: string, address: string, createdAt: number, profile: readonly (string | null)[] = [null, null]) => {
      exports.contacts.write(
        files.contacts,
        csvLine([id, address, phone, firstName, lastName, ...contactFields, stamp(createdAt), stamp(createdAt), ...profile]),
        random,
      );
    };
    writeContact(contactId, email, signedUpAt, [socialHandles, customProperties]);
    if (referrerContact) {
      exports.referrals.write(
        files.referrals,
        csvLine([`R${String(++referralSeq).padStart(7, '0')}`, referrerContact, email, contactId, stamp(signedUpAt)]),
        random,
      );
    }

    // Funnel: prospect -> lead -> first purchase.
    const isLead = random.chance(model.funnel.leadShare[channel]);
    const leadAt = signedUpAt + random.exponential(model.funnel.daysToLead) * DAY_MS;
    const convertsAt = leadAt + random.exponential(model.funnel.daysToFirstPurchase) * DAY_MS;
    const isBuyer = isLead && leadAt <= end && convertsAt <= end && random.chance(model.funnel.firstPurchaseShare[channel]);

    // Repeat buying: BG/NBD, or a steady rhythm for replenishment buyers.
    const isReplenisher = isBuyer && random.chance(model.replenishment.share);
    const rate = random.gamma(model.purchaseRate.r, 1 / model.purchaseRate.alpha);
    const rhythm = random.int(model.replenishment.rhythmDays.min, model.replenishment.rhythmDays.max);
    const dropout = isReplenisher ? model.replenishment.dropout : random.beta(model.dropout.a, model.dropout.b);
    const nu = random.gamma(model.spend.q, 1 / model.spend.gamma);
    const meanSpend = model.spend.p / nu;
    const orderTimes: number[] = [];
    let droppedOutAt: number | null = null;
    if (isBuyer) {
      for (let at = convertsAt; at <= end; ) {
        orderTimes.push(at);
        if (random.chance(dropout)) {
          droppedOutAt = at;
          break;
        }
        at += isReplenisher ? rhythm * (1 + model.replenishment.jitter * (2 * random.next() - 1)) * DAY_MS : random.exponential(1 / rate) * DAY_MS;
      }
    }
    if (isLead && leadAt <= end) {
      const lostAt = leadAt + model.funnel.leadLostAfterDays * DAY_MS;
      const status = isBuyer ? 'won' : lostAt <= end ? 'lost' : 'open';
      const closedAt = isBuyer ? convertsAt : status === 'lost' ? lostAt : null;
      const leadType = random.weighted(model.funnel.leadTypes);
      const amount = leadType === 'sign_up' ? null : money(meanSpend * random.int(2, 6));
      exports.leads.write(
        files.leads,
        csvLine([`L${String(++leadSeq).padStart(8, '0')}`, contactId, leadType, status, amount, stamp(leadAt), closedAt === null ? null : stamp(closedAt)]),
        random,
      );
    }

    // A duplicate contact: the same person signs up again (a guest checkout, a
    // second form), spelling the email differently; later orders go to it.
    const contactIds = [contactId];
    let duplicateFrom = Number.POSITIVE_INFINITY;
    let duplicateId = contactId;
    if (random.chance(warts.duplicateContactShare)) {
      duplicateFrom = orderTimes.length > 1 ? random.int(1, orderTimes.length - 1) : orderTimes.length;
      const createdAt = orderTimes[duplicateFrom] ?? Math.min(end, signedUpAt + random.int(1, 60) * DAY_MS);
      duplicateId = `C${String(++contactSeq).padStart(8, '0')}`;
      contactIds.push(duplicateId);
      writeContact(duplicateId, emailVariant(email, random), createdAt - HOUR_MS > signedUpAt ? createdAt - HOUR_MS : createdAt);
    }

    // Orders, payments, refunds; invites from engaged repeat buyers.
    let paidOrders = 0;
    for (const [index, orderedAt] of orderTimes.entries()) {
      const orderId = `O${String(++orderSeq).padStart(9, '0')}`;
      const buyer = index >= duplicateFrom && random.chance(0.7) ? duplicateId : contactId;
      const cancelled = random.chance(model.orders.cancelledShare);
      const refundAt = orderedAt + random.exponential(model.orders.daysToRefund) * DAY_MS;
      const refunded = !cancelled && random.chance(model.orders.refundedShare) && refundAt <= end;
      const secondCurrency = random.chance(warts.secondCurrencyShare);
      const rateToCurrency = secondCurrency ? warts.secondCurrencyRate : 1;
      const currency = secondCurrency ? warts.secondCurrency : model.orders.currency;
      const amount = Math.max(1, random.gamma(model.spend.p, 1 / nu)) * rateToCurrency;
      const discount = random.chance(model.orders.discountShare) ? amount * model.orders.discountRate : 0;
      const net = money(amount - discount);
      const status = cancelled ? 'cancelled' : refunded ? 'refunded' : 'paid';
      if (!cancelled) paidOrders++;
      exports.orders.write(
        files.orders,
        csvLine([orderId, buyer, stamp(orderedAt), status, money(amount), money(discount), currency, random.int(1, model.orders.maxItems)]),
        random,
      );
      if (!cancelled) {
        const paidAt = orderedAt + random.int(1, 30) * 60_000;
        exports.payments.write(
          files.payments,
          csvLine([`PAY${String(++paymentSeq).padStart(9, '0')}`, orderId, stamp(paidAt), net, currency, random.weighted(model.orders.paymentMethods)]),
          random,
        );
      }
      if (refunded) {
        exports.refunds.write(
          files.refunds,
          csvLine([`RF${String(++refundSeq).padStart(8, '0')}`, orderId, buyer, stamp(refundAt), net, currency, random.pick(['damaged', 'not as described', 'changed mind'])]),
          random,
        );
      }
      const reviewedAt = orderedAt + reviewRandom.exponential(model.reviews.daysToReview) * DAY_MS;
      if (status === 'paid' && reviewedAt <= end && reviewRandom.chance(model.reviews.share)) {
        exports.reviews.write(
          files.reviews,
          csvLine([
            `RV${String(++reviewSeq).padStart(8, '0')}`,
            buyer,
            reviewRandom.weighted(model.reviews.stars),
            stampFrom(reviewRandom)(reviewedAt),
            null,
          ]),
          reviewRandom,
        );
      }
      const support = model.support;
      const openedAt = orderedAt + ticketRandom.exponential(support.daysToTicket) * DAY_MS;
      if (!cancelled && openedAt <= end && ticketRandom.chance(refunded ? support.ticketShareWhenRefunded : support.ticketShare)) {
        const solvedAt = openedAt + Math.max(1, Math.round(ticketRandom.exponential(support.hoursToSolve) * 60)) * 60_000;
        const solved = solvedAt <= end;
        const rated = solved && ticketRandom.chance(support.ratedShare);
        const ticketStamp = stampFrom(ticketRandom);
        exports.supportTickets.write(
          files.supportTickets,
          csvLine([
            `T${String(++ticketSeq).padStart(8, '0')}`,
            buyer,
            ticketStamp(openedAt),
            solved ? ticketStamp(solvedAt) : null,
            !solved ? ticketRandom.pick(['open', 'pending']) : solvedAt + support.daysToClose * DAY_MS <= end ? 'closed' : 'solved',
            refunded ? support.topicWhenRefunded : ticketRandom.weighted(support.topics),
            rated ? ticketRandom.weighted(refunded ? support.ratingsWhenRefunded : support.ratings) : null,
          ]),
          ticketRandom,
        );
      }
      if (index >= 1 && random.chance(model.referrals.inviteShare)) {
        invites.push(orderedAt + random.exponential(model.referrals.daysToJoin) * DAY_MS, { person, contactId });
      }
    }

    // Web: anonymous visits, the sign-up that ties the cookie to the person,
    // purchase sessions and browsing while interested.
    const devices = [random.weighted(model.web.devices)];
    const anonymousIds = [`a${personSeed(options.seed ^ 0x77, person).toString(36)}${person.toString(36)}`];
    if (random.chance(model.web.secondDeviceShare)) {
      devices.push(random.weighted(model.web.devices));
      anonymousIds.push(`b${personSeed(options.seed ^ 0x99, person).toString(36)}${person.toString(36)}`);
    }
    const utm = UTM[channel] ?? null;
    const writeSession = (at: number, kind: 'visit' | 'sign_up' | 'browse' | 'purchase', firstTouch: boolean) => {
      const device = random.int(0, devices.length - 1);
      const sessionId = `S${(++sessionSeq).toString(36)}`;
      const identified = kind !== 'visit';
      const userId = identified ? contactId : null;
      const userEmail = identified ? email : null;
      const campaign = firstTouch && utm ? utm : null;
      const pages: [string, string, string | null][] = [['page_view', '/', null]];
      if (kind === 'sign_up') pages.push(['sign_up', '/account/new', null]);
      else if (kind !== 'visit' && random.chance(model.web.loginShare)) pages.unshift(['login', '/account/login', null]);
      const views = random.int(model.web.productViewsPerSession.min, model.web.productViewsPerSession.max);
      for (let view = 0; view < views; view++) {
        const product = random.pick(PRODUCTS);
        pages.push(['product_view', `/products/${product}`, product]);
      }
      if (kind === 'purchase') {
        const product = pages[pages.length - 1]![2] ?? random.pick(PRODUCTS);
        pages.push(['add_to_cart', `/products/${product}`, product], ['purchase', '/checkout/done', null]);
      }
      let occurredAt = at - pages.length * 60_000;
      for (const [type, url, product] of pages) {
        occurredAt += random.int(20, 120) * 1000;
        if (occurredAt < start || occurredAt > end) continue;
        const late = random.chance(warts.lateWebEventShare) ? random.int(1, warts.lateWebEventMaxDays) * DAY_MS : 0;
        const fileDay = clock.day(Math.min(occurredAt + late, end));
        const line =
          `{"event_id":"W${(++webSeq).toString(36)}","anonymous_id":"${anonymousIds[device]}","session_id":"${sessionId}",` +
          `"user_id":${jsonValue(userId)},"user_email":${jsonValue(userEmail)},"event_type":"${type}","occurred_at":"${stamp(occurredAt)}",` +
          `"page_url":"${url}","product_id":${jsonValue(product)},"utm_source":${jsonValue(campaign?.[0])},"utm_medium":${jsonValue(campaign?.[1])},` +
          `"utm_campaign":${jsonValue(campaign?.[2])},"device":"${devices[device]}"}`;
        exports.web.write(webEvents.writer(fileDay), line, random);
      }
    };
    const visits = random.int(model.web.visitsBeforeSignUp.min, model.web.visitsBeforeSignUp.max);
    for (let visit = visits; visit >= 1; visit--) writeSession(signedUpAt - visit * random.int(1, 4) * DAY_MS, 'visit', visit === visits);
    writeSession(signedUpAt, 'sign_up', false);
    for (const orderedAt of orderTimes) writeSession(orderedAt, 'purchase', false);
    // Interest lasts while the customer is alive; a prospect's fades in a few weeks.
    const interestedUntil = Math.min(end, isBuyer ? (droppedOutAt ?? end) : signedUpAt + 45 * DAY_MS);
    for (let at = signedUpAt; ; ) {
      at += random.exponential(30 / model.web.browseSessionsPer30Days) * DAY_MS;
      if (at > interestedUntil) break;
      writeSession(at, 'browse', false);
    }

    // Email: every campaign after sign-up while subscribed; engagement fades
    // before a customer drops out.
    if (consent) {
      const hardBounce = random.chance(model.email.hardBounceShare);
      const engagementAt = (at: number) => {
        if (!isBuyer) return model.email.nonBuyerEngagement;
        if (droppedOutAt === null) return 1;
        const untilDropout = (droppedOutAt - at) / DAY_MS;
        if (untilDropout <= 0) return model.email.fadedEngagement;
        if (untilDropout >= model.email.fadeDays) return 1;
        return model.email.fadedEngagement + (1 - model.email.fadedEngagement) * (untilDropout / model.email.fadeDays);
      };
      const subscriberId = `sub_${personSeed(options.seed ^ 0x55, person).toString(16)}`;
      const writeEmail = (campaignId: string, type: string, at: number, url: string | null, bounceType: string | null) => {
        if (at > end) return;
        const line = csvLine([`E${(++emailSeq).toString(36)}`, campaignId, subscriberId, email, type, stamp(at), url, bounceType]);
        const month = clock.day(at).slice(0, 7);
        exports.email.write(emailEvents.writer(month), line, random);
        if (type === 'sent') emailsSentPerMonth.set(month, (emailsSentPerMonth.get(month) ?? 0) + 1);
      };
      for (const campaign of campaigns) {
        if (campaign.at < signedUpAt) continue;
        const sentAt = campaign.at + random.int(0, 120) * 60_000;
        writeEmail(campaign.id, 'sent', sentAt, null, null);
        if (hardBounce) {
          writeEmail(campaign.id, 'bounced', sentAt + 60_000, null, 'hard');
          break;
        }
        if (random.chance(model.email.softBounceShare)) {
          writeEmail(campaign.id, 'bounced', sentAt + 60_000, null, 'soft');
          continue;
        }
        writeEmail(campaign.id, 'delivered', sentAt + 30_000, null, null);
        const engagement = engagementAt(sentAt);
        if (random.chance(model.email.openShare * engagement)) {
          const openedAt = sentAt + random.int(5, 48 * 60) * 60_000;
          writeEmail(campaign.id, 'opened', openedAt, null, null);
          if (random.chance(model.email.clickShareOfOpens)) {
            writeEmail(campaign.id, 'clicked', openedAt + random.int(1, 30) * 1000, `https://shop.example/products/${random.pick(PRODUCTS)}`, null);
          }
        }
        if (random.chance(model.email.complaintShare)) {
          writeEmail(campaign.id, 'complained', sentAt + random.int(1, 72) * HOUR_MS, null, null);
          break;
        }
        const unsubscribe = engagement < 0.5 ? model.email.unsubscribeShareWhenFaded : model.email.unsubscribeShare;
        if (random.chance(unsubscribe)) {
          writeEmail(campaign.id, 'unsubscribed', sentAt + random.int(1, 72) * HOUR_MS, null, null);
          break;
        }
      }
    }

    files.truth.write(
      csvLine([
        person,
        contactIds.join('|'),
        email,
        isInternal ? 'true' : 'false',
        channel,
        clock.utc(signedUpAt),
        referrer?.person ?? null,
        isLead && leadAt <= end ? 'true' : 'false',
        isBuyer ? 'true' : 'false',
        isReplenisher ? 'true' : 'false',
        isBuyer && !isReplenisher ? rate.toPrecision(6) : null,
        isReplenisher ? rhythm : null,
        isBuyer ? dropout.toPrecision(6) : null,
        meanSpend.toFixed(4),
        orderTimes.length ? clock.utc(orderTimes[0]!) : null,
        orderTimes.length,
        paidOrders,
        droppedOutAt === null ? null : clock.utc(droppedOutAt),
        isBuyer ? (droppedOutAt === null ? 'true' : 'false') : null,
      ]),
    );
    await queue.flushFull();
    if (person % 1000 === 0 || person === options.customers) options.onProgress?.(person, options.customers);
  }

  // Marketing spend, one row per month and channel and purpose, from its own
  // random stream (for the malformed rows), so every other file stays as it was.
  const spendRandom = createRandom(personSeed(options.seed ^ 0x5d, 0));
  const spendRow = (month: string, channel: string, purpose: string, amount: number) =>
    exports.marketingSpend.write(files.marketingSpend, csvLine([`${month}-01`, channel, purpose, amount.toFixed(2), model.orders.currency]), spendRandom);
  for (const month of [...new Set([...signUpsPerMonth.keys(), ...emailsSentPerMonth.keys()])].sort()) {
    for (const [channel, signUps] of [...(signUpsPerMonth.get(month) ?? new Map<Channel, number>())].sort(([a], [b]) => a.localeCompare(b))) {
      spendRow(month, channel, 'acquisition', signUps * model.marketingSpend.acquisitionPerSignUp[channel]);
    }
    const sent = emailsSentPerMonth.get(month);
    if (sent) spendRow(month, 'email', 'retention', sent * model.marketingSpend.retentionPerEmailSent);
  }

  const closingRandom = createRandom(personSeed(options.seed, options.customers + 1));
  for (const [name, exported] of Object.entries(exports) as [keyof typeof exports, Export][]) {
    const writer = name === 'web' ? webEvents.lastWriter() : name === 'email' ? emailEvents.lastWriter() : files[name];
    exported.ensureMalformed(writer, closingRandom);
  }
  await Promise.all([...Object.values(files).map((writer) => writer.close()), webEvents.close(), emailEvents.close()]);

  const result: GenerateResult = {
    rows: Object.fromEntries(Object.values(exports).map((exported) => [exported.stream, exported.rows])) as GenerateResult['rows'],
    malformed: Object.fromEntries(Object.values(exports).map((exported) => [exported.stream, exported.malformed])) as GenerateResult['malformed'],
    people: options.customers,
  };
  writeFileSync(
    path.join(options.truthFolder, 'parameters.json'),
    JSON.stringify(
      {
        description: 'Ground truth of a generated demo: the model and warts it was drawn from, and what was written. Per person: customers.csv.gz.',
        seed: options.seed,
        customers: options.customers,
        start_date: options.startDate,
        end_date: options.endDate,
        model: DEMO_MODEL,
        warts: DEMO_WARTS,
        ...result,
      },
      null,
      2,
    ) + '\n',
  );
  return result;
}
