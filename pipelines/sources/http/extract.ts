// Reads API streams page by page. The since-filter (records changed at or
// after the last complete run's watermark) is sent to the server, never
// applied after fetching. Each page is written as NDJSON to a file in the
// spool folder, staged and checked by DuckDB like any file, and committed on
// its own (or with the pages its reader groups with it); the watermark moves
// only once the whole stream has been read. A run killed in the middle
// therefore rereads from the old watermark, and since API streams merge on
// their key, the rerun ends in the state of an uninterrupted run. A search
// kind (HubSpot, search.ts) also lists the records archived in the source
// each run and flags their rows as deleted; Mailchimp's events come from
// each campaign's reports (reports.ts).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listValue } from '@duckdb/node-api';

import type { SourceConfig } from '../../config.ts';
import { sqlIdentifier } from '../../warehouse.ts';
import { commitForStream, loadOrReplace, loadStagedFiles, resolveStreams, streamTarget, StreamError, withSpoolDir, type ExtractContext } from '../files.ts';
import { readStreamState, writeStreamState } from '../state.ts';
import { DEFAULT_READERS, type ApiStreamDefinition, type HttpSourceKind, type StreamCounts } from '../types.ts';
import { createApiClient, createRateLimiter, NotFoundError, type ApiClient } from './client.ts';
import { nextAfter, offsetPages, recordsOf, type PageRequests } from './pages.ts';
import { campaignReportPages } from './reports.ts';
import { describeSearch, flattenSearchRecords, forEachArchivedPage, SEARCH_RESULT_CAP, searchRequest } from './search.ts';

export interface ResolvedApiStream extends ApiStreamDefinition {
  where?: string;
}

export function resolveApiStreams(kind: HttpSourceKind, source: SourceConfig): ResolvedApiStream[] {
  return resolveStreams(kind.streams, source, (base, override) => ({
    ...base,
    // The config's map replaces the kind's column by column; its properties come on top of the kind's.
    map: base.map || override.map ? { ...base.map, ...override.map } : undefined,
    properties: base.properties || override.properties ? [...new Set([...(base.properties ?? []), ...(override.properties ?? [])])] : undefined,
    where: override.where,
  }));
}

/** An optional stream the API does not have: nothing is loaded, and the stream stays as it was (a full refresh rolls back). */
class StreamAbsent extends Error {
  override name = 'StreamAbsent';
}

export function connectApi(kind: HttpSourceKind, source: SourceConfig, onRetry: (message: string) => void): ApiClient {
  const variable = source.token_env ?? '';
  const token = process.env[variable];
  if (!token) throw new StreamError(`set ${variable} to the API ${kind.auth === 'basic' ? 'key' : 'token'} of ${source.name}`);
  return createApiClient({ baseUrl: source.base_url ?? '', token, tokenEnv: variable, auth: kind.auth, onRetry });
}

/** The since-filter to send: the watermark, or `minutes` before it. */
function lookBack(watermark: string, minutes: number | undefined): string {
  if (!minutes) return watermark;
  const ms = Date.parse(watermark);
  if (Number.isNaN(ms)) throw new StreamError(`lookback_minutes needs a time cursor, but the watermark is "${watermark}"`);
  return new Date(ms - minutes * 60_000).toISOString();
}

/**
 * Flags the loaded rows of records the source lists as archived (deleted):
 * `is_deleted`, with this run's id and time, a page at a time. A record
 * archived before it was ever loaded has no row and stays out; one restored
 * comes back through the search, unflagged.
 */
async function flagArchived(ctx: ExtractContext, client: ApiClient, table: string, source: SourceConfig, stream: ResolvedApiStream): Promise<void> {
  let flagged = 0;
  await forEachArchivedPage(client, stream, async (ids) => {
    const changed = await commitForStream(ctx, () =>
      ctx.connection.run(
        `update ${table} set is_deleted = true, _loaded_at = now()::timestamp, _run_id = $run
         where ${sqlIdentifier(stream.primaryKey)} in (select unnest($ids::varchar[])) and is_deleted is distinct from true`,
        { run: ctx.runId, ids: listValue(ids) },
      ),
    );
    flagged += changed.rowsChanged;
  });
  if (flagged) ctx.log.info(`extract: ${source.name}.${stream.name}: ${flagged} record(s) archived in the source flagged is_deleted`);
}

/** A page of records as read, and where it came from (its rows' origin). */
export interface ApiPage {
  records: Record<string, unknown>[];
  url: string;
  /** Loaded with the pages after it in one transaction, up to the first page without this flag. */
  loadWithNext?: boolean;
}

/** What a stream's page reader needs. */
export interface PageReading extends PageRequests {
  ctx: ExtractContext;
  kind: HttpSourceKind;
  source: SourceConfig;
  stream: ResolvedApiStream;
  /** The raw table the stream loads into. */
  table: string;
  /** The since-filter to send: the last complete run's watermark, less the look-back; none on a first run or a full refresh. */
  since: string | undefined;
  /** The last complete run's watermark itself. */
  watermark: string | undefined;
}

/** The newest of `current` and the records' cursor values (ISO times). */
function newestCursor(records: readonly Record<string, unknown>[], cursorField: string, current: string | undefined): string | undefined {
  let newest = current;
  let newestMs = current === undefined ? Number.NEGATIVE_INFINITY : Date.parse(current);
  for (const record of records) {
    const value = record[cursorField];
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (ms > newestMs) {
      newestMs = ms;
      newest = value as string;
    }
  }
  return newest;
}

/** The pages of a listed stream: offset, cursor or search paging, with the since-filter sent to the server. */
async function* listedPages(reading: PageReading): AsyncGenerator<ApiPage> {
  const { client, kind, stream, pageSize } = reading;
  if (kind.pagination === 'offset') {
    const since = kind.sinceParam ? { [kind.sinceParam]: reading.since } : {};
    yield* offsetPages(reading, stream.path, stream.itemsKey, since);
    return;
  }
  // A page may come twice (the server's view shifted); a token that keeps coming back is a loop.
  const seenTokens = new Map<string, number>();
  let after: string | undefined;
  // search paging: the since-filter of the query under way (a new query starts past SEARCH_RESULT_CAP results).
  let querySince = reading.since;
  let newest = reading.watermark;
  for (;;) {
    await reading.pageTurn();
    let page: unknown;
    let url: string;
    if (kind.pagination === 'search') {
      const request = searchRequest(stream, querySince, after, pageSize);
      page = await client.postJson(`${stream.path}/search`, request);
      url = describeSearch(client.describe(`${stream.path}/search`, {}), request);
    } else {
      const params = { limit: pageSize, after, ...(kind.sinceParam ? { [kind.sinceParam]: reading.since } : {}) };
      page = await client.getJson(stream.path, params);
      url = client.describe(stream.path, params);
    }
    let records = recordsOf(page, stream.itemsKey, url);
    if (kind.pagination === 'search') records = await flattenSearchRecords(client, stream, records, url);
    yield { records, url };
    newest = newestCursor(records, stream.cursorField, newest);
    after = nextAfter(page);
    if (after === undefined) return;
    if (kind.pagination === 'search' && Number(after) >= SEARCH_RESULT_CAP) {
      // The search pages no further: a new query from the newest cursor value read (records at that value come again, and merge).
      if (newest === undefined || newest === querySince) {
        throw new StreamError(`${url}: more than ${SEARCH_RESULT_CAP} records share ${stream.cursorField} = ${newest}; the search cannot page past them`);
      }
      querySince = newest;
      after = undefined;
      seenTokens.clear();
      continue;
    }
    const seen = (seenTokens.get(after) ?? 0) + 1;
    if (seen > 3) throw new StreamError(`${url}: the server sent the paging token "${after}" ${seen} times; stopping instead of looping`);
    seenTokens.set(after, seen);
  }
}

export async function extractApiStream(
  ctx: ExtractContext,
  client: ApiClient,
  kind: HttpSourceKind,
  source: SourceConfig,
  stream: ResolvedApiStream,
  counts: StreamCounts,
): Promise<void> {
  const { connection, log } = ctx;
  const target = await streamTarget(
    connection,
    source.name,
    // Pages are re-read after a crash or a repeated page: merging on the key keeps that harmless.
    { name: stream.name, reader: DEFAULT_READERS.ndjson, primaryKey: [stream.primaryKey], disposition: 'merge', map: stream.map, where: stream.where },
  );
  const state = ctx.fullRefresh ? undefined : await readStreamState(ctx, source.name, stream.name);
  const since = state?.cursor_value ?? undefined;
  const readAll = async (workDir: string) => {
    const reading: PageReading = {
      ctx,
      client,
      kind,
      source,
      stream,
      table: target.table,
      since: since === undefined ? undefined : lookBack(since, source.lookback_minutes),
      watermark: since,
      pageSize: source.page_size ?? kind.pageSize,
      pageTurn: createRateLimiter(source.requests_per_second ?? kind.requestsPerSecond),
    };
    let watermark = since;
    let pageNumber = 0;
    let pagesRead = 0;
    // Pages written to the spool folder, waiting to be loaded together.
    let group: { path: string; origin: string }[] = [];
    const loadGroup = async () => {
      if (!group.length) return;
      const loaded = await loadStagedFiles(ctx, target, group);
      for (const file of group) rmSync(file.path, { force: true });
      counts.files_loaded += group.length;
      for (const pageCounts of loaded.values()) {
        counts.rows_read += pageCounts.read;
        counts.rows_loaded += pageCounts.loaded;
        counts.rows_quarantined += pageCounts.quarantined;
      }
      group = [];
      log.progress(`${source.name}.${stream.name}: records`, counts.rows_read, counts.rows_read);
    };
    const pages = stream.reader === 'mailchimp_reports' ? campaignReportPages(reading) : listedPages(reading);
    try {
      for await (const page of pages) {
        pagesRead++;
        if (page.records.length) {
          const file = path.join(workDir, `page-${++pageNumber}.ndjson`);
          writeFileSync(file, page.records.map((record) => JSON.stringify(record)).join('\n') + '\n');
          group.push({ path: file, origin: page.url });
          watermark = newestCursor(page.records, stream.cursorField, watermark);
        }
        if (!page.loadWithNext) await loadGroup();
      }
    } catch (error) {
      if (error instanceof NotFoundError && stream.optional && pagesRead === 0) throw new StreamAbsent(stream.path);
      throw error;
    }
    await loadGroup();
    if (kind.pagination === 'search') await flagArchived(ctx, client, target.table, source, stream);
    if (watermark === undefined) return;
    const reached = watermark;
    const saveWatermark = () => writeStreamState(ctx, source.name, stream.name, reached, null, Number(state?.rows_loaded ?? 0) + counts.rows_read);
    await commitForStream(ctx, saveWatermark);
  };

  try {
    await withSpoolDir(ctx, `${source.name}.${stream.name}`, (workDir) => loadOrReplace(ctx, target, '_meta.stream_state', () => readAll(workDir)));
  } catch (error) {
    if (!(error instanceof StreamAbsent)) throw error;
    log.info(`extract: ${source.name}.${stream.name}: the API has no ${stream.path}; skipped (name the stream in the config to require it)`);
  }
}
