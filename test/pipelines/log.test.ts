import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../pipelines/log.ts';
import { tempDir } from '../helpers.ts';

describe('logger', () => {
  afterEach(() => {
    delete process.env.CRM_API_TOKEN;
  });

  it('writes JSON lines with the fields, and masks secret environment values everywhere', () => {
    process.env.CRM_API_TOKEN = 's3cr3t-t0ken';
    const file = path.join(tempDir(), 'logs', 'tango.jsonl');
    const stream = new PassThrough();
    let printed = '';
    stream.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const log = createLogger({ file, stream: stream as unknown as NodeJS.WriteStream }).child({ run_id: 'r1' });
    log.error('request failed with Authorization: Bearer s3cr3t-t0ken', { url: 'https://crm.example/api?token=s3cr3t-t0ken' });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({ level: 'error', run_id: 'r1', message: 'request failed with Authorization: Bearer ***', url: 'https://crm.example/api?token=***' });
    expect(printed).toBe('error: request failed with Authorization: Bearer ***\n');
    expect(readFileSync(file, 'utf8')).not.toContain('s3cr3t');
  });
});
