#!/usr/bin/env node
// Provisions what `npm install` alone cannot: the project-local Python
// virtualenv with pinned dbt (python/requirements.lock, hash-checked) and the
// Evidence app's own dependencies (reports/package-lock.json, patched on
// install by patch-package). Runs as the root package's postinstall;
// idempotent: each part is skipped when its lockfile has not changed since it
// was last installed. TANGO_SKIP_SETUP=1 skips it all.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venv = path.join(root, '.venv');
const pythonLock = path.join(root, 'python', 'requirements.lock');
const reportsDir = path.join(root, 'reports');
const MIN_PYTHON = [3, 10];
const MAX_PYTHON = [3, 13];

function say(message) {
  process.stdout.write(`[tango setup] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`\n[tango setup] ${message}\n\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed with exit code ${result.status}`);
}

function fileHash(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function upToDate(stampFile, hash) {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash;
}

function findPython() {
  const candidates = [process.env.TANGO_PYTHON, 'python3', 'python3.13', 'python3.12', 'python3.11', 'python3.10'].filter(Boolean);
  const found = [];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const version = probe.stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    const ok = major === 3 && minor >= MIN_PYTHON[1] && minor <= MAX_PYTHON[1];
    if (ok) return candidate;
    found.push(`${candidate} is ${version}`);
  }
  fail(
    `dbt needs Python ${MIN_PYTHON.join('.')} to ${MAX_PYTHON.join('.')} with the venv module, and none was found` +
      (found.length ? ` (${found.join(', ')})` : '') +
      `.\nInstall one, e.g. on Debian/Ubuntu: apt-get install python3 python3-venv ; ` +
      `or point TANGO_PYTHON at one, then run: npm run setup`,
  );
}

function setupPython() {
  const stamp = path.join(venv, '.tango-lock-sha256');
  const hash = fileHash(pythonLock);
  if (upToDate(stamp, hash) && existsSync(path.join(venv, 'bin', 'dbt'))) {
    say('Python virtualenv is up to date (.venv)');
    return;
  }
  const python = findPython();
  say(`creating the Python virtualenv in .venv with ${python}`);
  rmSync(venv, { recursive: true, force: true });
  run(python, ['-m', 'venv', venv]);
  say('installing dbt-core, dbt-duckdb and duckdb from python/requirements.lock');
  run(path.join(venv, 'bin', 'python'), [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input',
    '--require-hashes', '--only-binary', ':all:', '-r', pythonLock,
  ]);
  writeFileSync(stamp, hash + '\n');
}

function setupReports() {
  const lock = path.join(reportsDir, 'package-lock.json');
  const stamp = path.join(reportsDir, 'node_modules', '.tango-lock-sha256');
  // A changed patch must be applied again, so the patches count with the lock.
  const patchesDir = path.join(reportsDir, 'patches');
  const hash = createHash('sha256').update(readFileSync(lock));
  for (const patch of readdirSync(patchesDir).sort()) hash.update(patch).update(readFileSync(path.join(patchesDir, patch)));
  const digest = hash.digest('hex');
  if (upToDate(stamp, digest)) {
    say('Evidence app dependencies are up to date (reports/node_modules)');
    return;
  }
  say('installing the Evidence app dependencies from reports/package-lock.json (a minute or two)');
  // `npm install`, not `npm ci`: with this npm, lockfiles omit the optional
  // packages of other platforms and `npm ci` refuses them as out of sync;
  // `npm install` installs exactly the locked versions and leaves the lock as is.
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: reportsDir });
  writeFileSync(stamp, digest + '\n');
}

if (process.env.TANGO_SKIP_SETUP === '1') {
  say('skipped (TANGO_SKIP_SETUP=1)');
} else {
  setupPython();
  setupReports();
  say('ready. Next: npm run demo');
}
