// Folds a DuckDB file's WAL into the file: opens it with the settings given
// as JSON, runs CHECKPOINT, closes. Plain JavaScript, so that it starts in a
// blink without the TypeScript loader. Started detached by foldWal
// (pipelines/warehouse.ts), in a session of its own, so that a kill of the
// tango process does not cut a checkpoint in the middle of a block write.
//
// It first waits until each lock file given names it (foldWal writes it
// there right after starting it), so that it never writes the file without
// holding its locks: if tango dies before that, it leaves without touching
// the file, and the next run folds the WAL. Tango's pid comes as an
// argument: killed before this process got going, tango would already be
// replaced as its parent by init.
//
//   node pipelines/checkpoint-process.mjs <file> '<settings as JSON>' '<lock files as JSON>' <tango's pid>
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [file, settings, locks, tango] = process.argv.slice(2);
const parent = Number(tango);
// Tango names this process in its locks within milliseconds of starting it.
const NAMED_WITHIN_MS = 60_000;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};
const namesMe = (lock) => {
  try {
    return JSON.parse(readFileSync(lock, 'utf8')).sharedWith === process.pid;
  } catch {
    return false;
  }
};

try {
  const lockFiles = JSON.parse(locks ?? '[]');
  const giveUpAt = Date.now() + NAMED_WITHIN_MS;
  while (!lockFiles.every(namesMe)) {
    if (!(parent > 0 && alive(parent)) || Date.now() > giveUpAt) process.exit(0);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const instance = await DuckDBInstance.create(file, JSON.parse(settings ?? '{}'));
  const connection = await instance.connect();
  try {
    await connection.run('checkpoint');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
} catch (error) {
  // The parent may be gone (it was killed), and its pipe with it.
  try {
    process.stderr.write(`${error.message}\n`);
  } catch {
    // Nobody is listening.
  }
  process.exitCode = 1;
}
