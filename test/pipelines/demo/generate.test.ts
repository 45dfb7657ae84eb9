import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { generateDemoData } from '../../../pipelines/demo/generate.ts';
import { createRandom } from '../../../pipelines/demo/random.ts';
import { tempDir } from '../../helpers.ts';

async function generate(seed: number) {
  const dir = tempDir();
  const folders = { crm: path.join(dir, 'crm'), web: path.join(dir, 'web'), email: path.join(dir, 'email') };
  const counts = await generateDemoData({ folders, customers: 300, seed, startDate: '2023-01-01', endDate: '2023-12-31' });
  const digest = createHash('sha256');
  for (const folder of Object.values(folders)) {
    for (const file of readdirSync(folder).sort()) digest.update(file).update(readFileSync(path.join(folder, file)));
  }
  return { dir, folders, counts, digest: digest.digest('hex') };
}

describe('demo generator', () => {
  it('writes byte-identical files for the same seed and size, and different ones for another seed', async () => {
    const first = await generate(7);
    const second = await generate(7);
    const other = await generate(8);
    expect(second.digest).toBe(first.digest);
    expect(other.digest).not.toBe(first.digest);
  });

  it('writes as many rows as it reports, with one header line per CSV', async () => {
    const { folders, counts } = await generate(7);
    const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n').length;
    expect(lines(path.join(folders.crm, 'contacts.csv'))).toBe(counts.contacts + 1);
    expect(lines(path.join(folders.crm, 'orders.csv'))).toBe(counts.orders + 1);
    expect(lines(path.join(folders.email, 'email_events.csv'))).toBe(counts.emailEvents + 1);
    const webLines = readdirSync(folders.web)
      .map((file) => gunzipSync(readFileSync(path.join(folders.web, file))).toString('utf8').trimEnd().split('\n').length)
      .reduce((a, b) => a + b, 0);
    expect(webLines).toBe(counts.webEvents);
    expect(counts.contacts).toBe(300);
  });

  it('keeps every event inside the simulated period', async () => {
    const { folders } = await generate(7);
    const orders = readFileSync(path.join(folders.crm, 'orders.csv'), 'utf8').trimEnd().split('\n').slice(1);
    for (const line of orders) {
      const orderedAt = line.split(',')[2]!;
      expect(orderedAt >= '2023-01-01' && orderedAt <= '2023-12-31T23:59:59Z').toBe(true);
    }
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
