// A real, throw-away PostgreSQL server for tests: initdb in a temp folder,
// started with pg_ctl on a free port of 127.0.0.1, stopped at the end.
// PostgreSQL refuses to run as root, so as root it runs as the `postgres`
// user that Debian's package creates (and the package is installed if absent).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export interface TestPostgres {
  url: string;
  port: number;
  stop(): void;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = path.join(root, version, 'bin');
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function ensureInstalled(): string {
  let dir = binDir();
  if (dir) return dir;
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL is not installed: install the Debian package postgresql (the tests need initdb and pg_ctl)');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  dir = binDir();
  if (!dir) throw new Error('PostgreSQL was installed but initdb was not found under /usr/lib/postgresql');
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = ensureInstalled();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'tango-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = path.join(dir, 'data');
  const run = (command: string, args: string[]) => {
    const result = spawnSync(path.join(bin, command), args, { cwd: dir, encoding: 'utf8', ...(owner ?? {}) });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  const superuser = asRoot ? 'postgres' : userInfo().username;
  run('initdb', ['-D', dataDir, '-U', superuser, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  return {
    url: `postgres://${superuser}@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      spawnSync(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop'], { cwd: dir, ...(owner ?? {}) });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
