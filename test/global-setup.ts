// Every test makes its temp dirs under os.tmpdir(), and so do the processes
// it starts (PostgreSQL, dbt, Evidence, Chromium): pointing TMPDIR at one dir
// per run lets the teardown remove them all, kill tests' leftovers included.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(path.join(tmpdir(), 'tango-tests-'));
  // PostgreSQL runs as its own user (test/support/postgres.ts) in a dir below this one.
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  return () => {
    if (process.env.TANGO_KEEP_TEST_DIRS) console.log(`test dirs kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
}
