import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig, parseConfig } from '../../pipelines/config.ts';
import { tempDir } from '../helpers.ts';

const job = { name: 'nightly', cron: '30 3 * * *', timezone: 'Europe/Berlin', steps: ['extract'] };

function errorOf(input: unknown): string {
  try {
    parseConfig(input, '/project/tango.config.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config', () => {
  it('fills in defaults and resolves paths against the config file', () => {
    const config = parseConfig({ sources: [{ name: 'crm', kind: 'crm_files', path: 'exports/crm' }] }, '/project/tango.config.yaml');
    expect(config.warehousePath).toBe('/project/data/warehouse.duckdb');
    expect(config.sources[0]?.absolutePath).toBe('/project/exports/crm');
    expect(config.report).toEqual({ host: '127.0.0.1', port: 3000 });
  });

  it('refuses duplicate job names', () => {
    expect(errorOf({ schedule: { jobs: [job, job] } })).toMatch(/schedule\.jobs\[1\]\.name: duplicate job name "nightly"/);
  });

  it('names the file when the YAML itself is broken', () => {
    const file = path.join(tempDir(), 'tango.config.yaml');
    writeFileSync(file, 'sources: [\n');
    expect(() => loadConfig(file)).toThrow(new RegExp(`Config file ${file} is not valid YAML`));
  });
});
