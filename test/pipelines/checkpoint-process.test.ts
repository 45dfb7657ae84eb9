// The process that folds a WAL into its DuckDB file (pipelines/checkpoint-process.mjs),
// started directly: it folds only once the locks it was given name it, and
// leaves without touching the file when the tango that started it is gone.
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../../pipelines/paths.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { exitedPid, tempDir } from '../helpers.ts';

const CHECKPOINT_PROCESS = path.join(PROJECT_ROOT, 'pipelines', 'checkpoint-process.mjs');

/** A warehouse whose last commit is only in its WAL. */
async function warehouseWithWal(): Promise<string> {
  const file = path.join(tempDir(), 'w.duckdb');
  const warehouse = await openWarehouse(file);
  try {
    await warehouse.connection.run('create table t as select range as i from range(1000)');
  } finally {
    warehouse.close();
  }
  expect(existsSync(`${file}.wal`)).toBe(true);
  return file;
}

function runCheckpointProcess(file: string, lock: string, tangoPid: number): Promise<number | null> {
  const child = spawn(process.execPath, [CHECKPOINT_PROCESS, file, '{}', JSON.stringify([lock]), String(tangoPid)], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('checkpoint process', () => {
  it('folds the WAL into the file once the lock names it', async () => {
    const file = await warehouseWithWal();
    const lock = `${file}.lock`;
    const child = spawn(process.execPath, [CHECKPOINT_PROCESS, file, '{}', JSON.stringify([lock]), String(process.pid)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Not named yet: it waits, and the WAL stays.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(`${file}.wal`)).toBe(true);
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), command: 'test', startedAt: 'x', sharedWith: child.pid }));
    expect(await exited).toBe(0);
    expect(existsSync(`${file}.wal`)).toBe(false);
    const warehouse = await openWarehouse(file, { readOnly: true });
    try {
      expect(await queryRows(warehouse.connection, 'select count(*)::int as n from t')).toEqual([{ n: 1000 }]);
    } finally {
      warehouse.close();
    }
  });

  it('leaves the file alone when the tango that started it died before naming it in the lock', async () => {
    const file = await warehouseWithWal();
    const before = { file: statSync(file).size, wal: statSync(`${file}.wal`).size };
    const deadPid = exitedPid();
    const started = Date.now();
    expect(await runCheckpointProcess(file, `${file}.lock`, deadPid)).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect({ file: statSync(file).size, wal: statSync(`${file}.wal`).size }).toEqual(before);
  });
});
