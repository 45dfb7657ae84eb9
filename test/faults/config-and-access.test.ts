// Config and secrets, and report access. A bad config is refused by the real
// `tango` command with the file and the key named; names and filters with
// quotes or SQL in them are refused or quoted; a missing secret names its
// variable. Every secret the cases use is then looked for in everything the
// commands printed and logged: none may appear. The report server refuses
// requests without the password when it is bound beyond loopback.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../pipelines/log.ts';
import { serveSite } from '../../pipelines/report.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tempDir, tinyProject, writeConfig, type CliResult } from '../helpers.ts';
import { faultClass } from './fault-class.ts';

const SECRETS = {
  TANGO_FAULT_API_TOKEN: 'tok-Sekrit-3141',
  TANGO_FAULT_DB_URL: 'postgres://tango:pw-Sekrit-2718@127.0.0.1:9/crm',
  TANGO_REPORT_PASSWORD: 'rep-Sekrit-1618',
};
const SECRET_VALUES = ['tok-Sekrit-3141', 'pw-Sekrit-2718', 'rep-Sekrit-1618'];

/** Everything the commands of this file printed, and their log files, for the secrets check. */
const printed: string[] = [];
const logFiles: string[] = [];

async function tango(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await runTango(args, { env: { ...SECRETS, TANGO_HTTP_RETRY_BASE_MS: '10', TANGO_POSTGRES_RETRY_BASE_MS: '10', ...env } });
  printed.push(result.stdout, result.stderr);
  return result;
}

const job = { name: 'nightly', cron: '30 3 * * *', timezone: 'Europe/Berlin', steps: ['extract'] };
const fileSource = { name: 'crm', kind: 'crm_files', path: 'crm' };

/** A config file with these contents in a fresh folder. */
function configWith(contents: Record<string, unknown>): string {
  const file = writeConfig(tempDir(), { logs: { path: 'tango.jsonl' }, ...contents });
  logFiles.push(path.join(path.dirname(file), 'tango.jsonl'));
  return file;
}

const refusedConfigs: [string, Record<string, unknown>, RegExp][] = [
  ['a bad cron expression', { schedule: { jobs: [{ ...job, cron: '61 * * * *' }] } }, /schedule\.jobs\[0\]\.cron: not a valid cron expression "61 \* \* \* \*"/],
  ['an unknown timezone', { schedule: { jobs: [{ ...job, timezone: 'Mars/Olympus_Mons' }] } }, /schedule\.jobs\[0\]\.timezone: unknown IANA timezone "Mars\/Olympus_Mons"/],
  ['an unknown source kind', { sources: [{ ...fileSource, kind: 'ftp' }] }, /sources\[0\]\.kind: Invalid option: expected one of/],
  ['a source name with a quote and SQL', { sources: [{ ...fileSource, name: `crm"; drop table marts.dim_customers; --` }] }, /sources\[0\]\.name: must be lower-case letters/],
  ['a job name with a quote', { schedule: { jobs: [{ ...job, name: "night'ly" }] } }, /schedule\.jobs\[0\]\.name: must be lower-case letters/],
  ['a stream name with SQL', { sources: [{ ...fileSource, streams: { 'orders; drop schema raw_crm': {} } }] }, /sources\[0\]\.streams\.orders; drop schema raw_crm: must be lower-case letters|sources\[0\]\.streams/],
  ['a secret variable name that is not one', { sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: '$(cat /etc/passwd)' }] }, /sources\[0\]\.connection_env: must be an environment variable name/],
  ['a secret written into the config instead of its variable', { sources: [{ name: 'crm', kind: 'crm_api', base_url: 'https://api.example.com', token: SECRETS.TANGO_FAULT_API_TOKEN }] }, /sources\[0\]: Unrecognized key: "token"/],
  ['a typo in a key', { warehouse: { pth: 'x.duckdb' } }, /warehouse: Unrecognized key: "pth"/],
  ['a step that does not exist', { schedule: { jobs: [{ ...job, steps: ['extract', 'deploy'] }] } }, /schedule\.jobs\[0\]\.steps\[1\]/],
];

faultClass('config and secrets', 'refused with the file and the key named, or quoted safely; a missing secret names its variable; no secret in any output or log', () => {
  it.each(refusedConfigs)('%s is refused, naming the key', async (_name, contents, message) => {
    const file = configWith(contents);
    const result = await tango(['--config', file, 'run', '--steps', 'extract']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toMatch(message);
  });

  it('an API token that is not set is named by its variable', async () => {
    const file = configWith({ sources: [{ name: 'crm', kind: 'crm_api', base_url: 'http://127.0.0.1:9', token_env: 'TANGO_FAULT_UNSET_TOKEN', streams: { contacts: {} } }] });
    const result = await tango(['--config', file, 'extract']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('source crm, stream contacts: set TANGO_FAULT_UNSET_TOKEN to the API token of crm');
  });

  it('a database URL that is not set is named by its variable', async () => {
    const file = configWith({ sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: 'TANGO_FAULT_UNSET_URL' }] });
    const result = await tango(['--config', file, 'extract']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('set TANGO_FAULT_UNSET_URL to the postgres:// URL of the crm database');
  });

  it('a source that fails with its secret in hand (token, database password) never shows the secret', async () => {
    const file = configWith({
      sources: [
        { name: 'crm', kind: 'crm_api', base_url: 'http://127.0.0.1:9', token_env: 'TANGO_FAULT_API_TOKEN', streams: { contacts: {} } },
        { name: 'shop', kind: 'crm_postgres', connection_env: 'TANGO_FAULT_DB_URL' },
      ],
    });
    const result = await tango(['--config', file, 'extract']);
    expect(result.code).toBe(1);
    // Port 9 is one fetch refuses to use at all.
    expect(result.stderr).toMatch(/source crm, stream contacts: .*fetch failed \(bad port\), still after 5 retries/);
    expect(result.stderr).toMatch(/cannot connect to the shop database \(TANGO_FAULT_DB_URL\)/);
  });

  describe('a project in a folder whose name holds a quote, a double quote and a space', () => {
    // Run through extract and dbt: every path reaches SQL quoted.
    let project: ReturnType<typeof tinyProject>;
    beforeAll(async () => {
      project = tinyProject();
      const awkward = path.join(project.dir, `it's a "test"`);
      mkdirSync(awkward);
      const config = readFileSync(project.configFile, 'utf8').replace('warehouse.duckdb', `it's a "test"/warehouse.duckdb`);
      writeFileSync(project.configFile, config);
      project.warehouse = path.join(awkward, 'warehouse.duckdb');
      logFiles.push(path.join(project.dir, 'logs', 'tango.jsonl'));
    }, 60_000);

    it('a warehouse path with quotes and a space in it works through extract and dbt', async () => {
      const result = await tango(['--config', project.configFile, 'run', '--steps', 'extract,transform']);
      expect(result.code, result.stderr).toBe(0);
      expect(existsSync(project.warehouse)).toBe(true);
    }, 300_000);

    it('export filters with quotes and SQL in them are values, not SQL', async () => {
      const out = path.join(project.dir, 'lists');
      const result = await tango(['--config', project.configFile, 'export', '--stage', `x' or 1=1; drop table marts.dim_customers; --`, '--name', 'odd', '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      // No customer has that stage: the list has its header only.
      expect(readFileSync(path.join(out, 'odd.csv'), 'utf8').trim().split('\n')).toHaveLength(1);
      const warehouse = await openWarehouse(project.warehouse, { readOnly: true });
      try {
        expect(await queryRows(warehouse.connection, 'select count(*) as n from marts.dim_customers')).toEqual([{ n: 6n }]);
      } finally {
        warehouse.close();
      }
    });

    it('an export name that climbs out of its folder stays inside it', async () => {
      const out = path.join(project.dir, 'lists-2');
      const result = await tango(['--config', project.configFile, 'export', '--name', '../../escaped', '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['_escaped.csv', '_escaped.parquet']);
      expect(existsSync(path.join(project.dir, 'escaped.csv'))).toBe(false);
    });
  });

  it('no secret appears in anything the commands above printed or logged', () => {
    // The last case of the class: it reads what every case before it left.
    const everything = [...printed, ...logFiles.filter((file) => existsSync(file)).map((file) => readFileSync(file, 'utf8'))].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of SECRET_VALUES) expect(everything, `a secret appears in the output`).not.toContain(secret);
  });
});

faultClass('report access', 'beyond loopback no page without the password; on loopback nothing outside the site', () => {
  const log = createLogger({ quiet: true });
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    delete process.env.TANGO_REPORT_PASSWORD;
  });

  function builtSite(): string {
    const root = path.join(tempDir(), 'build');
    mkdirSync(path.join(root, 'data'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<h1>Cohort retention</h1>');
    writeFileSync(path.join(root, 'data', 'rows.arrow'), 'ARROW1');
    writeFileSync(path.join(path.dirname(root), 'secret.txt'), 'outside the site');
    return root;
  }

  /** A raw GET through node:http, which (unlike fetch) keeps ".." in the path. */
  const rawGet = (port: number, requestPath: string, headers: Record<string, string> = {}) =>
    new Promise<number | undefined>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port, path: requestPath, headers }, (response) => resolve(response.statusCode)).on('error', reject),
    );

  it('on loopback the site is served without a password, and nothing outside it', async () => {
    const served = await serveSite('127.0.0.1', 0, log, builtSite());
    server = served.server;
    const index = await fetch(served.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toContain('Cohort retention');
    expect((await fetch(`${served.url}data/rows.arrow`)).headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const port = (served.server.address() as { port: number }).port;
    expect(await rawGet(port, '/../secret.txt')).toBe(404);
    expect(await rawGet(port, '/%2e%2e/secret.txt')).toBe(404);
    expect((await fetch(`${served.url}missing`)).status).toBe(404);
  });

  it('beyond loopback without a password it does not serve at all', async () => {
    await expect(serveSite('0.0.0.0', 0, log, builtSite())).rejects.toThrow(
      'Serving the report on 0.0.0.0 (beyond this machine) needs a password: set TANGO_REPORT_PASSWORD',
    );
  });

  it('beyond loopback every request needs the password: none, a wrong one and the right one', async () => {
    process.env.TANGO_REPORT_PASSWORD = 'dance-floor-42';
    const served = await serveSite('0.0.0.0', 0, log, builtSite());
    server = served.server;
    const url = served.url.replace('0.0.0.0', '127.0.0.1');
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`analyst:${password}`).toString('base64')}` });
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    expect((await fetch(`${url}data/rows.arrow`)).status).toBe(401);
    expect((await fetch(url, { headers: basic('wrong-password') })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer dance-floor-42' } })).status).toBe(401);
    expect((await fetch(url, { headers: basic('dance-floor-42') })).status).toBe(200);
    const port = (served.server.address() as { port: number }).port;
    expect(await rawGet(port, '/../secret.txt', basic('dance-floor-42'))).toBe(404);
  });
});
