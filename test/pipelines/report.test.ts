import { mkdirSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../pipelines/log.ts';
import { serveSite } from '../../pipelines/report.ts';
import { tempDir } from '../helpers.ts';

const log = createLogger({ quiet: true });

function builtSite(): string {
  const root = path.join(tempDir(), 'build');
  mkdirSync(path.join(root, 'data'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<h1>Cohort retention</h1>');
  writeFileSync(path.join(root, 'data', 'rows.arrow'), 'ARROW1');
  writeFileSync(path.join(path.dirname(root), 'secret.txt'), 'outside the site');
  return root;
}

describe('report server', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    delete process.env.TANGO_REPORT_PASSWORD;
  });

  it('serves the site on loopback without a password, and nothing outside it', async () => {
    const served = await serveSite('127.0.0.1', 0, log, builtSite());
    server = served.server;
    const index = await fetch(served.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toContain('Cohort retention');
    expect((await fetch(`${served.url}data/rows.arrow`)).headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    // fetch() normalises "..", so the raw path goes through node:http.
    const port = (served.server.address() as { port: number }).port;
    const traversal = await new Promise<number | undefined>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port, path: '/../secret.txt' }, (response) => resolve(response.statusCode)).on('error', reject),
    );
    expect(traversal).toBe(404);
    expect((await fetch(`${served.url}missing`)).status).toBe(404);
  });

  it('refuses to serve beyond loopback without a password', async () => {
    await expect(serveSite('0.0.0.0', 0, log, builtSite())).rejects.toThrow(
      'Serving the report on 0.0.0.0 (beyond this machine) needs a password: set TANGO_REPORT_PASSWORD',
    );
  });

  it('asks for the password when bound beyond loopback', async () => {
    process.env.TANGO_REPORT_PASSWORD = 'dance-floor-42';
    const served = await serveSite('0.0.0.0', 0, log, builtSite());
    server = served.server;
    const url = served.url.replace('0.0.0.0', '127.0.0.1');
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`analyst:${password}`).toString('base64')}` });
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    expect((await fetch(url, { headers: basic('wrong-password') })).status).toBe(401);
    expect((await fetch(url, { headers: basic('dance-floor-42') })).status).toBe(200);
  });
});
