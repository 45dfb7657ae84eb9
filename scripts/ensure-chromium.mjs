#!/usr/bin/env node
// Makes sure a Chromium for the browser tests is there (run before `npm test`).
// Uses $CHROMIUM_PATH, else /usr/bin/chromium; when missing and running as
// root on Debian/Ubuntu, installs Debian's chromium package. Browsers are never
// downloaded by a test tool: that needs hosts this project cannot reach.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function say(message) {
  process.stdout.write(`[tango test setup] ${message}\n`);
}

if (existsSync(wanted)) {
  process.exit(0);
}
if (process.env.CHROMIUM_PATH) {
  process.stderr.write(`[tango test setup] CHROMIUM_PATH=${wanted} does not exist.\n`);
  process.exit(1);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  process.stderr.write(
    '[tango test setup] The browser tests need Chromium at /usr/bin/chromium.\n' +
      'Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary.\n',
  );
  process.exit(1);
}
say('installing Chromium from Debian packages for the browser tests (apt-get install chromium)');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'chromium']]) {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.status !== 0) {
    process.stderr.write(`[tango test setup] apt-get ${args.join(' ')} failed (exit ${result.status}).\n`);
    process.exit(1);
  }
}
if (!existsSync(wanted)) {
  process.stderr.write(`[tango test setup] chromium was installed but ${wanted} is still missing.\n`);
  process.exit(1);
}
say(`Chromium ready at ${wanted}`);
