import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { loadConfig } from '../../../pipelines/config.ts';
import { generateDemoData, type GenerateResult } from '../../../pipelines/demo/generate.ts';
import { DEMO_MODEL, DEMO_WARTS } from '../../../pipelines/demo/model.ts';
import { createRandom } from '../../../pipelines/demo/random.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows, sqlString, type Warehouse } from '../../../pipelines/warehouse.ts';
import { tempDir } from '../../helpers.ts';

function layout(dir: string) {
  return {
    folders: { crm: path.join(dir, 'sources', 'crm'), web: path.join(dir, 'sources', 'web'), email: path.join(dir, 'sources', 'email') },
    truthFolder: path.join(dir, 'truth'),
  };
}

/** A digest of every file below `dir`, names and bytes. */
function digestTree(dir: string): string {
  const digest = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) digest.update(path.relative(dir, file)).update(readFileSync(file));
  return digest.digest('hex');
}

describe('demo generator: determinism', () => {
  const small = async (seed: number) => {
    const dir = tempDir();
    await generateDemoData({ ...layout(dir), customers: 1000, seed, startDate: '2024-01-01', endDate: '2024-06-30' });
    return digestTree(dir);
  };

  it('writes byte-identical files for the same seed and size, and different ones for another seed', async () => {
    const first = await small(7);
    expect(await small(7)).toBe(first);
    expect(await small(8)).not.toBe(first);
  });

  it('refuses an empty period', async () => {
    await expect(generateDemoData({ ...layout(tempDir()), customers: 10, seed: 1, startDate: '2024-06-30', endDate: '2024-01-01' })).rejects.toThrow(
      'startDate 2024-06-30 must be a date before endDate 2024-01-01',
    );
  });
});

describe('demo generator: a 10,000-person run, loaded', () => {
  const people = 10_000;
  let result: GenerateResult;
  let warehouse: Warehouse;
  let streams: StreamCounts[];
  let truthFile: string;
  const one = async (sql: string) => (await queryRows<Record<string, unknown>>(warehouse.connection, sql))[0]!;
  const number = async (sql: string) => Number(Object.values(await one(sql))[0]);

  beforeAll(async () => {
    const dir = tempDir();
    const { folders, truthFolder } = layout(dir);
    result = await generateDemoData({ folders, truthFolder, customers: people, seed: 2024, startDate: '2023-01-01', endDate: '2025-12-31' });
    truthFile = path.join(truthFolder, 'customers.csv.gz');
    const configFile = path.join(dir, 'tango.config.yaml');
    writeFileSync(
      configFile,
      stringify({
        warehouse: { path: 'warehouse.duckdb' },
        sources: [
          { name: 'crm', kind: 'crm_files', path: folders.crm },
          { name: 'web', kind: 'web_files', path: folders.web },
          { name: 'email', kind: 'email_files', path: folders.email },
        ],
      }),
    );
    const config = loadConfig(configFile);
    warehouse = await openWarehouse(config.warehousePath);
    await applyMetaContract(warehouse.connection);
    streams = [];
    for (const source of config.sources) {
      streams.push(...(await extractSource({ connection: warehouse.connection, runId: 'test', log: createLogger({ quiet: true }) }, source)));
    }
    // Truth per person, and each person's contacts.
    await warehouse.connection.run(`create temp table truth as select * from read_csv(${sqlString(truthFile)}, header = true)`);
    await warehouse.connection.run(
      `create temp table person_contacts as
       select person_id, unnest(string_split(contact_ids, '|')) as contact_id, contact_ids from truth`,
    );
  });
  afterAll(() => warehouse?.close());

  it('obeys its own contracts: every stream loads, and exactly the rows it broke on purpose are quarantined', () => {
    expect(streams.map((stream) => `${stream.source}.${stream.stream}`).sort()).toEqual(Object.keys(result.rows).sort());
    for (const stream of streams) {
      const name = `${stream.source}.${stream.stream}` as keyof GenerateResult['rows'];
      expect(stream.error, name).toBeUndefined();
      expect({ name, loaded: stream.rows_loaded, quarantined: stream.rows_quarantined }).toEqual({
        name,
        loaded: result.rows[name],
        quarantined: result.malformed[name],
      });
      // "A few malformed rows in every export".
      expect(result.malformed[name], name).toBeGreaterThanOrEqual(1);
    }
  });

  it('writes the ground truth for every person, and its counts agree with the files', async () => {
    expect(await number('select count(*) from truth')).toBe(people);
    expect(await number('select count(*) from person_contacts')).toBe(await number('select count(*) from raw_crm.contacts'));
    // Orders, paid orders (= payments), first and last order per person.
    expect(await number('select sum(orders) from truth')).toBe(await number('select count(*) from raw_crm.orders'));
    expect(await number('select sum(paid_orders) from truth')).toBe(await number('select count(*) from raw_crm.payments'));
    const mismatches = await number(
      `with per_person as (
         select person_contacts.person_id, min(orders.ordered_at) as first_at, max(orders.ordered_at) as last_at, count(*) as orders
         from raw_crm.orders as orders join person_contacts on orders.contact_id = person_contacts.contact_id
         group by person_contacts.person_id
       )
       select count(*) from truth left join per_person on truth.person_id = per_person.person_id
       where coalesce(per_person.orders, 0) <> truth.orders
          or per_person.first_at is distinct from truth.first_order_at::timestamptz
          -- A customer who dropped out bought last at the drop-out.
          or (truth.dropped_out_at is not null and per_person.last_at is distinct from truth.dropped_out_at::timestamptz)`,
    );
    expect(mismatches).toBe(0);
    // The true channel is the CRM's, and every referral names the true referrer.
    expect(
      await number(
        `select count(*) from truth join raw_crm.contacts as contacts on contacts.contact_id = split_part(truth.contact_ids, '|', 1)
         where contacts.acquisition_channel <> truth.acquisition_channel`,
      ),
    ).toBe(0);
    expect(await number('select count(*) from truth where referred_by_person_id is not null')).toBe(await number('select count(*) from raw_crm.referrals'));
    expect(
      await number(
        `select count(*) from raw_crm.referrals as referrals
         join person_contacts as referred on referrals.referred_contact_id = referred.contact_id
         join truth on truth.person_id = referred.person_id
         join truth as referrer on referrer.person_id = truth.referred_by_person_id
         where split_part(referrer.contact_ids, '|', 1) <> referrals.referrer_contact_id`,
      ),
    ).toBe(0);
    // Marketing spend is booked on what the other files show: per month, each
    // channel's sign-ups (truth) times its cost per sign-up, and the campaign
    // emails sent (the email export) times the cost per email.
    const perSignUp = DEMO_MODEL.marketingSpend.acquisitionPerSignUp;
    const spendMismatches = await one(
      `with rates(channel, per_sign_up) as (values ${Object.entries(perSignUp).map(([channel, cost]) => `('${channel}', ${cost})`).join(', ')}),
       expected as (
         select strftime(signed_up_at::timestamptz at time zone 'UTC', '%Y-%m') as month, truth.acquisition_channel as channel, 'acquisition' as purpose,
           count(*) * any_value(rates.per_sign_up) as amount
         from truth join rates on truth.acquisition_channel = rates.channel group by all
         union all
         select strftime(occurred_at at time zone 'UTC', '%Y-%m'), 'email', 'retention', count(*) * ${DEMO_MODEL.marketingSpend.retentionPerEmailSent}
         from raw_email.events where event_type = 'sent' group by all
       ),
       booked as (select strftime(spend_month, '%Y-%m') as month, channel, purpose, amount::double as amount from raw_crm.marketing_spend)
       select count(*) as rows, count(*) filter (where booked.amount is null or expected.amount is null or abs(booked.amount - expected.amount) > 0.005) as mismatches
       from expected full join booked using (month, channel, purpose)`,
    );
    expect(Number(spendMismatches.rows)).toBeGreaterThan(36 * 5);
    expect(Number(spendMismatches.mismatches)).toBe(0);
    // Alive or not is known for buyers only.
    expect(await number('select count(*) from truth where is_buyer and is_alive_at_end is null')).toBe(0);
    expect(await number('select count(*) from truth where is_alive_at_end and dropped_out_at is not null')).toBe(0);
  });

  it('draws behaviour from the stated model', async () => {
    // Purchase rates ~ Gamma(r = 2, rate alpha = 25): mean r / alpha = 0.08
    // per day, standard deviation sqrt(2) / 25 = 0.057; the standard error
    // over ~5,000 buyers is about 0.0008.
    expect(DEMO_MODEL.purchaseRate).toEqual({ r: 2, alpha: 25 });
    expect(await number('select avg(purchase_rate_per_day) from truth')).toBeCloseTo(2 / 25, 2);
    // Drop-out ~ Beta(1, 24): mean 0.04, standard deviation
    // sqrt(24 / (25^2 * 26)) = 0.038 (standard error about 0.0006).
    expect(DEMO_MODEL.dropout).toEqual({ a: 1, b: 24 });
    expect(await number('select avg(dropout_probability) from truth where not is_replenisher')).toBeCloseTo(0.04, 2);
    // Mean spend p / nu with nu ~ Gamma(q, gamma): mean p * gamma / (q - 1) =
    // 6.25 * 15.44 / 2.74 = 35.22; standard deviation about 26.7, so the
    // standard error over 10,000 people is about 0.27.
    expect(Math.abs((await number('select avg(mean_spend) from truth')) - 35.22)).toBeLessThan(1.2);
    // Replenishers buy on their rhythm: every gap within +-10 % of it.
    const offRhythm = await number(
      `with gaps as (
         select truth.rhythm_days, extract(epoch from orders.ordered_at - lag(orders.ordered_at) over (partition by truth.person_id order by orders.ordered_at)) / 86400 as gap_days
         from raw_crm.orders as orders join person_contacts using (contact_id) join truth using (person_id)
         where truth.is_replenisher
       )
       select count(*) from gaps where gap_days is not null and abs(gap_days / rhythm_days - 1) > 0.1 + 1e-6`,
    );
    expect(offRhythm).toBe(0);
  });

  /** Within four standard errors of a binomial share. */
  const expectShare = (observed: number, trials: number, share: number) => {
    const tolerance = 4 * Math.sqrt((share * (1 - share)) / trials);
    expect(Math.abs(observed / trials - share), `${observed}/${trials} vs ${share}`).toBeLessThan(tolerance);
  };

  it('opens support tickets after orders at the configured rates, refunds more often and rated worse', async () => {
    const support = DEMO_MODEL.support;
    // Each ticket follows one order of its contact; tickets about a refund
    // follow refunded orders. Per order, the first ticket opened after it:
    // tickets cannot be told apart from orders otherwise, so the shares are
    // counted per order status over tickets and orders alike.
    const tickets = await one(
      `select count(*) as tickets,
         count(*) filter (where topic = 'refund') as refund_tickets,
         count(*) filter (where not exists (
           select 1 from raw_crm.orders as orders
           where orders.contact_id = tickets.contact_id and orders.status <> 'cancelled' and orders.ordered_at <= tickets.opened_at
         )) as without_order,
         count(*) filter (where (solved_at is null) <> (status in ('open', 'pending'))) as bad_status,
         count(*) filter (where satisfaction is not null and solved_at is null) as rated_unsolved,
         count(*) filter (where solved_at is not null) as solved,
         count(satisfaction) as rated,
         avg(satisfaction) filter (where topic <> 'refund') as mean_rating,
         avg(satisfaction) filter (where topic = 'refund') as mean_refund_rating
       from raw_crm.support_tickets as tickets`,
    );
    const orders = await one(
      `select count(*) filter (where status = 'paid') as paid, count(*) filter (where status = 'refunded') as refunded from raw_crm.orders`,
    );
    expect(Number(tickets.without_order)).toBe(0);
    expect(Number(tickets.bad_status)).toBe(0);
    expect(Number(tickets.rated_unsolved)).toBe(0);
    // A few tickets of orders near the end open after it and are not written: the shares come out a little low.
    expectShare(Number(tickets.refund_tickets), Number(orders.refunded), support.ticketShareWhenRefunded);
    expectShare(Number(tickets.tickets) - Number(tickets.refund_tickets), Number(orders.paid), support.ticketShare);
    expectShare(Number(tickets.rated), Number(tickets.solved), support.ratedShare);
    // Mean stars by the weights: (5 x 45 + 4 x 25 + 3 x 12 + 2 x 8 + 1 x 10) / 100 = 3.87; refunds
    // (5 x 15 + 4 x 15 + 3 x 20 + 2 x 20 + 1 x 30) / 100 = 2.65.
    // Standard deviations about 1.4 stars over ~1,000 and ~700 ratings: standard errors about 0.05.
    expect(Math.abs(Number(tickets.mean_rating) - 3.87)).toBeLessThan(0.2);
    expect(Math.abs(Number(tickets.mean_refund_rating) - 2.65)).toBeLessThan(0.2);
  });

  it('adds duplicate contacts with email variants at the configured rate', async () => {
    const duplicated = await number(`select count(*) from truth where contains(contact_ids, '|')`);
    expectShare(duplicated, people, DEMO_WARTS.duplicateContactShare);
    // Each spells the email differently, and is the same address once trimmed and lower-cased.
    const variants = await one(
      `select count(*) filter (where contacts.email <> truth.email) as different,
              count(*) filter (where lower(trim(contacts.email)) = truth.email) as same_normalized
       from truth join raw_crm.contacts as contacts on contacts.contact_id = split_part(truth.contact_ids, '|', 2)
       where contains(truth.contact_ids, '|')`,
    );
    expect(variants).toEqual({ different: BigInt(duplicated), same_normalized: BigInt(duplicated) });
  });

  it('adds internal accounts, second-currency orders, local offsets and late web events at the configured rates', async () => {
    expectShare(await number('select count(*) from truth where is_internal'), people, DEMO_WARTS.internalAccountShare);
    expect(await number(`select count(*) from truth where is_internal and email not like 'qa+%@tango-shop.example'`)).toBe(0);

    const orders = await number('select count(*) from raw_crm.orders');
    expectShare(await number(`select count(*) from raw_crm.orders where currency = 'GBP'`), orders, DEMO_WARTS.secondCurrencyShare);

    // Offsets are only visible in the files: the warehouse holds instants.
    const offsets = await one(
      `select count(*) as total, count(*) filter (where not ends_with(ordered_at, 'Z')) as local
       from read_csv(${sqlString(path.join(path.dirname(truthFile), '..', 'sources', 'crm', 'orders.csv'))}, header = true, auto_detect = false, ignore_errors = true,
         columns = {'order_id': 'VARCHAR', 'contact_id': 'VARCHAR', 'ordered_at': 'VARCHAR', 'status': 'VARCHAR',
                    'amount': 'VARCHAR', 'discount': 'VARCHAR', 'currency': 'VARCHAR', 'item_count': 'VARCHAR'})
       where try_cast(ordered_at as timestamptz) is not null`,
    );
    expectShare(Number(offsets.local), Number(offsets.total), DEMO_WARTS.localOffsetShare);

    // A late event sits in a later day's file than the day it happened (UTC);
    // events due after the last day are clamped to it, so the share is a bit lower.
    const late = await one(
      `select count(*) as total,
         count(*) filter (where regexp_extract(_origin, 'date=([0-9-]+)', 1)::date > cast(occurred_at as date)) as late
       from raw_web.events`,
    );
    const share = Number(late.late) / Number(late.total);
    expect(share).toBeGreaterThan(DEMO_WARTS.lateWebEventShare * 0.9);
    expect(share).toBeLessThan(DEMO_WARTS.lateWebEventShare * 1.05);
  });
});

describe('seeded random source', () => {
  it('draws gamma variates with the requested mean (shape * scale)', () => {
    // Mean of Gamma(k, theta) is k * theta; with 20,000 draws the standard
    // error is sqrt(k) * theta / sqrt(20000), about 0.016 for k = 2, theta = 1.5.
    const random = createRandom(1);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += random.gamma(2, 1.5);
    expect(sum / 20_000).toBeCloseTo(3, 1);
  });

  it('draws beta variates with mean a / (a + b)', () => {
    const random = createRandom(2);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += random.beta(1, 4);
    expect(sum / 20_000).toBeCloseTo(0.2, 2);
  });
});
