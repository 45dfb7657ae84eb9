// Source faults: the API sources against a real HTTP server on 127.0.0.1 that
// misbehaves on demand, and sources that are down for the whole run. Retries
// and repeated pages must end with every record loaded once (the 25 contacts
// of the fixture, 10 a page), and a source that stays down fails its own
// streams only, with a message that names it.
import { cpSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';

import { loadConfig } from '../../pipelines/config.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tempDir, TINY_FIXTURE, writeConfig } from '../helpers.ts';
import { startApiProject, TOKEN_ENV, type ApiProject } from '../support/api-project.ts';
import { startPostgres } from '../support/postgres.ts';
import { faultClass } from './fault-class.ts';

const CONTACTS = '/crm/v3/objects/contacts';

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

faultClass('source faults', 'retries and resumption load every record once (no duplicate, no loss); a source that stays down fails its streams only, with a message naming it', () => {
  let project: ApiProject;
  beforeEach(async () => {
    project = await startApiProject();
  });
  afterEach(() => project.close());

  /** The 25 fixture contacts are in raw_crm.contacts, each once. */
  const expectAllContactsOnce = async () =>
    expect(await project.query('select count(*) as n, count(distinct contact_id) as keys from raw_crm.contacts')).toEqual([{ n: 25n, keys: 25n }]);

  it('HTTP 500s and a cut-off body are retried', async () => {
    project.server.faults.push({ kind: 'status', status: 500 }, { kind: 'truncate' }, { kind: 'status', status: 502 });
    const counts = await project.extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25, rows_quarantined: 0 });
    // Three failures, then the three pages.
    expect(project.requestsTo(CONTACTS)).toHaveLength(6);
    await expectAllContactsOnce();
  });

  it('a 429 waits as long as its Retry-After asks', async () => {
    project.server.faults.push({ kind: 'status', status: 429, retryAfter: '1' });
    const counts = await project.extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
    const [refused, retried] = project.requestsTo(CONTACTS);
    expect(retried!.at - refused!.at).toBeGreaterThanOrEqual(1000);
  });

  it('a page that does not answer in time is asked again', async () => {
    process.env.TANGO_HTTP_TIMEOUT_MS = '300';
    project.server.faults.push({ kind: 'slow', ms: 1000 });
    const counts = await project.extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
    await expectAllContactsOnce();
  });

  it('an answer that is not JSON (an HTML error page with status 200) is retried', async () => {
    project.server.faults.push({ kind: 'body', body: '<html><body>Bad gateway</body></html>' });
    const counts = await project.extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
    await expectAllContactsOnce();
  });

  it('a page sent twice leaves no duplicate', async () => {
    // The second request is answered with the first page again (a no-op fault first).
    project.server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'repeat' });
    const counts = await project.extract('crm');
    // Pages of 10, 10 (again), 10, 5.
    expect(counts.contacts).toMatchObject({ rows_read: 35, rows_loaded: 35, rows_quarantined: 0 });
    await expectAllContactsOnce();
  });

  it('a paging cursor that goes backwards (to the first page) leaves no duplicate and no loss', async () => {
    project.server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'rewind' });
    const counts = await project.extract('crm');
    // Pages 1 and 2, then back to 1, 2 and on to 3: 10 + 10 + 10 + 10 + 5.
    expect(counts.contacts).toMatchObject({ rows_read: 45, rows_loaded: 45, rows_quarantined: 0 });
    await expectAllContactsOnce();
    // The watermark is the latest updated_at read (contact 25's, 2024-01-26), not the last page's.
    const [state] = await project.query<{ cursor_value: string }>(`select cursor_value from _meta.stream_state where stream = 'contacts'`);
    expect(state!.cursor_value).toBe('2024-01-26T10:00:00Z');
  });

  it('a server that keeps sending the same paging token is stopped, naming the token', async () => {
    for (let i = 0; i < 8; i++) project.server.faults.push({ kind: 'rewind' });
    const counts = await project.extract('crm');
    expect(counts.contacts?.error).toMatch(/the server sent the paging token "MA==" 4 times; stopping instead of looping/);
    // The orders stream still ran, and no contact is there twice.
    expect(counts.orders).toMatchObject({ rows_loaded: 1 });
    const [row] = await project.query<{ n: bigint; keys: bigint }>('select count(*) as n, count(distinct contact_id) as keys from raw_crm.contacts');
    expect(row!.n).toBe(row!.keys);
  });

  it('a failed stream resumes on the next run from where the last complete run left it', async () => {
    for (let i = 0; i < 6; i++) project.server.faults.push({ kind: 'status', status: 503 });
    const failed = await project.extract('crm');
    expect(failed.contacts?.error).toBe(
      `source crm, stream contacts: ${project.server.url}${CONTACTS}?limit=10: HTTP 503, still after 5 retries`,
    );
    expect(failed.orders).toMatchObject({ rows_loaded: 1 });
    const again = await project.extract('crm');
    expect(again.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
    expect(again.contacts?.error).toBeUndefined();
    await expectAllContactsOnce();
  });

  it('a record changed behind the watermark (a lagging clock) is missed without a lookback, and read with lookback_minutes', async () => {
    const lagging = (project: ApiProject) => {
      // After the first run (watermark: contact 25's 2024-01-26T10:00:00Z), c3 changes with a time 30 minutes older.
      const record = project.server.routes.get(CONTACTS)!.records.find((contact) => contact.contact_id === 'c3')!;
      record.email = 'late@example.com';
      record.updated_at = '2024-01-26T09:30:00Z';
    };
    await project.extract('crm');
    lagging(project);
    await project.extract('crm');
    expect(await project.query(`select email from raw_crm.contacts where contact_id = 'c3'`)).toEqual([{ email: 'person3@example.com' }]);

    const withLookback = await startApiProject([], { lookback_minutes: 60 });
    try {
      await withLookback.extract('crm');
      lagging(withLookback);
      withLookback.server.requests.length = 0;
      const counts = await withLookback.extract('crm');
      expect(withLookback.requestsTo(CONTACTS)[0]!.params.get('updated_since')).toBe('2024-01-26T09:00:00.000Z');
      // c3 and c25 (at the watermark itself) are read again; nothing is there twice.
      expect(counts.contacts).toMatchObject({ rows_read: 2, rows_loaded: 2 });
      expect(await withLookback.query(`select email from raw_crm.contacts where contact_id = 'c3'`)).toEqual([{ email: 'late@example.com' }]);
      expect(await withLookback.query('select count(*) as n, count(distinct contact_id) as keys from raw_crm.contacts')).toEqual([{ n: 25n, keys: 25n }]);
      const [state] = await withLookback.query<{ cursor_value: string }>(`select cursor_value from _meta.stream_state where stream = 'contacts'`);
      expect(state!.cursor_value).toBe('2024-01-26T10:00:00Z');
    } finally {
      await withLookback.close();
    }
  });

  it('a database row committed late with an earlier time is read with lookback_minutes, without a duplicate', async () => {
    const postgres = await startPostgres();
    try {
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`create table contacts (contact_id text primary key, email text, created_at timestamptz, updated_at timestamptz not null);
        insert into contacts values ('c1', 'ann@example.com', '2024-01-01 10:00+00', '2024-01-02 10:00+00'),
                                    ('c2', 'bob@example.com', '2024-01-01 11:00+00', '2024-01-02 12:00+00');`);
      const configFile = writeConfig(tempDir(), {
        warehouse: { path: 'warehouse.duckdb' },
        sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: 'TANGO_FAULT_PG_URL', lookback_minutes: 120, streams: { contacts: {} } }],
      });
      const env = { TANGO_FAULT_PG_URL: postgres.url };
      const first = await runTango(['--config', configFile, 'extract'], { env });
      expect(first.code, first.stderr).toBe(0);
      // Committed after the first run, stamped an hour before its watermark (12:00).
      await admin.query(`insert into contacts values ('c3', 'cy@example.com', '2024-01-01 12:00+00', '2024-01-02 11:00+00')`);
      await admin.end();
      const second = await runTango(['--config', configFile, 'extract'], { env });
      expect(second.code, second.stderr).toBe(0);
      const warehouse = await openWarehouse(loadConfig(configFile).warehousePath, { readOnly: true });
      try {
        expect(await queryRows(warehouse.connection, 'select contact_id from raw_crm.contacts order by contact_id')).toEqual([
          { contact_id: 'c1' },
          { contact_id: 'c2' },
          { contact_id: 'c3' },
        ]);
      } finally {
        warehouse.close();
      }
    } finally {
      postgres.stop();
    }
  });

  it('a refused token (401) is named by its variable and not retried', async () => {
    process.env[TOKEN_ENV] = 'wrong-token';
    const counts = await project.extract('crm');
    expect(counts.contacts?.error).toMatch(/the server refused the token in TANGO_TEST_API_TOKEN \(HTTP 401\)/);
    expect(project.requestsTo(CONTACTS)).toHaveLength(1);
  });

  it('an API down for the whole run fails its own streams with a clear message; the other sources load', async () => {
    const dir = tempDir();
    cpSync(path.join(TINY_FIXTURE, 'email'), path.join(dir, 'email'), { recursive: true });
    const port = await closedPort();
    const configFile = writeConfig(dir, {
      warehouse: { path: 'warehouse.duckdb' },
      sources: [
        { name: 'crm', kind: 'crm_api', base_url: `http://127.0.0.1:${port}`, token_env: TOKEN_ENV, streams: { contacts: {} } },
        { name: 'email', kind: 'email_files', path: 'email' },
      ],
    });
    const result = await runTango(['--config', configFile, 'run', '--steps', 'extract'], {
      env: { [TOKEN_ENV]: 'some-token', TANGO_HTTP_RETRY_BASE_MS: '10' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `source crm, stream contacts: http://127.0.0.1:${port}${CONTACTS}?limit=500: fetch failed (ECONNREFUSED), still after 5 retries`,
    );
    const warehouse = await openWarehouse(loadConfig(configFile).warehousePath, { readOnly: true });
    try {
      // The fixture's email events are in (3 of 4: e4 has no address); the run is on record as failed, with the reason.
      expect(await queryRows(warehouse.connection, 'select count(*) as n from raw_email.events')).toEqual([{ n: 3n }]);
      const [run] = await queryRows<{ status: string; error: string }>(warehouse.connection, 'select status, error from _meta.pipeline_runs');
      expect(run).toMatchObject({ status: 'failed', error: expect.stringContaining('source crm, stream contacts') });
    } finally {
      warehouse.close();
    }
  });

  it('a database down for the whole run fails its streams, naming the variable and never the password', async () => {
    const dir = tempDir();
    const port = await closedPort();
    const configFile = writeConfig(dir, { warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: 'TANGO_FAULT_CRM_URL' }] });
    const password = 'pw-Fault-7781';
    const result = await runTango(['--config', configFile, 'extract'], {
      env: { TANGO_FAULT_CRM_URL: `postgres://tango:${password}@127.0.0.1:${port}/crm`, TANGO_POSTGRES_RETRY_BASE_MS: '10' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/source crm, stream contacts: cannot connect to the crm database \(TANGO_FAULT_CRM_URL\): .*ECONNREFUSED.*, still after 3 retries/);
    expect(result.stdout + result.stderr).not.toContain(password);
  });
});
