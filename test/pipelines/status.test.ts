// `tango status` on the tiny fixture, whose numbers are worked out by hand in
// test/fixtures/tiny/README.md.
import { describe, expect, it } from 'vitest';

import type { WarehouseStatus } from '../../pipelines/status.ts';
import { runTango, tinyProject } from '../helpers.ts';

describe('tango status', () => {
  it('says what each stream holds, what was quarantined and how the last runs went', async () => {
    const project = tinyProject();
    const missing = await runTango(['--config', project.configFile, 'status']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`No warehouse at ${project.warehouse}: run \`tango extract\` or \`tango run\` first`);

    const extracted = await runTango(['--config', project.configFile, '--quiet', 'extract']);
    expect(extracted.code, extracted.stderr).toBe(0);
    const json = await runTango(['--config', project.configFile, 'status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as WarehouseStatus;
    const stream = (source: string, name: string) => {
      const found = status.streams.find((candidate) => candidate.source === source && candidate.stream === name)!;
      return { rows: found.rows, quarantined: found.quarantined, files: found.files, deleted: found.deleted, watermark: found.watermark };
    };
    expect(stream('crm', 'contacts')).toEqual({ rows: 6, quarantined: 0, files: 1, deleted: 0, watermark: null });
    // o10's ordered_at is not a time.
    expect(stream('crm', 'orders')).toEqual({ rows: 9, quarantined: 1, files: 1, deleted: 0, watermark: null });
    // t6 is solved before it was opened.
    expect(stream('crm', 'support_tickets')).toEqual({ rows: 5, quarantined: 1, files: 1, deleted: 0, watermark: null });
    // 2024-03-15 is not a month's first day.
    expect(stream('crm', 'marketing_spend')).toEqual({ rows: 9, quarantined: 1, files: 1, deleted: 0, watermark: null });
    // No leads file: the table exists, empty.
    expect(stream('crm', 'leads')).toEqual({ rows: 0, quarantined: 0, files: 0, deleted: 0, watermark: null });
    expect(stream('web', 'events')).toEqual({ rows: 4, quarantined: 0, files: 1, deleted: 0, watermark: null });
    // e4 has no subscriber_email.
    expect(stream('email', 'events')).toEqual({ rows: 3, quarantined: 1, files: 1, deleted: 0, watermark: null });
    expect(status.runs).toHaveLength(1);
    expect(status.runs[0]).toMatchObject({ command: expect.stringMatching(/extract$/), status: 'succeeded', error: null });

    const text = await runTango(['--config', project.configFile, 'status']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^source +stream +kind +rows +deleted +quarantined +files +watermark +last loaded \(UTC\)$/m);
    expect(text.stdout).toMatch(/^crm +orders +crm_files +9 +0 +1 +1 +– +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    expect(text.stdout).toContain(`${status.runs[0]!.runId}  ${status.runs[0]!.command}  succeeded in `);
  });
});
