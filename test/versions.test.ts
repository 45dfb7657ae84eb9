// One DuckDB version everywhere: the pipelines' node-api, the Python duckdb
// under dbt, and the node-api the Evidence DuckDB plugin loads.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT, REPORTS_DIR, VENV_DIR } from '../pipelines/paths.ts';

async function nodeDuckdbVersion(): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll('select version() as v');
  const version = String(reader.getRowObjectsJS()[0]?.v);
  connection.closeSync();
  instance.closeSync();
  return version.replace(/^v/, '');
}

describe('DuckDB versions', () => {
  it('is the same DuckDB in node-api and in the virtualenv dbt uses', async () => {
    const python = execFileSync(path.join(VENV_DIR, 'bin', 'python'), ['-c', 'import duckdb; print(duckdb.__version__)'], { encoding: 'utf8' }).trim();
    expect(python).toBe(await nodeDuckdbVersion());
  });

  it('gives the Evidence DuckDB plugin the same node-api as the pipelines', () => {
    const version = (file: string) => JSON.parse(readFileSync(file, 'utf8')).version as string;
    const pipelines = version(path.join(PROJECT_ROOT, 'node_modules', '@duckdb', 'node-api', 'package.json'));
    const reports = version(path.join(REPORTS_DIR, 'node_modules', '@duckdb', 'node-api', 'package.json'));
    expect(reports).toBe(pipelines);
  });
});
