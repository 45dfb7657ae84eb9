// Reads API streams page by page. The since-filter (records changed at or
// after the last complete run's watermark) is sent to the server, never
// applied after fetching. Each page is written as NDJSON to a file in the spool folder,
// staged and checked by DuckDB like any file, and committed on its own; the
// watermark moves only once the whole stream has been read. A run killed in
// the middle therefore rereads from the old watermark, and since API streams
// merge on their key, the rerun ends in the state of an uninterrupted run.
// A search kind (HubSpot, search.ts) also lists the records archived in the
// source each run and flags their rows as deleted.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listValue } from '@duckdb/node-api';

import type { SourceConfig } from '../../config.ts';
import { sqlIdentifier } from '../../warehouse.ts';
import { commitForStream, loadOrReplace, loadStagedFiles, resolveStreams, streamTarget, StreamError, withSpoolDir, type ExtractContext } from '../files.ts';
import { readStreamState, writeStreamState } from '../state.ts';
import { DEFAULT_READERS, type ApiStreamDefinition, type HttpSourceKind, type StreamCounts } from '../types.ts';
import { createApiClient, createRateLimiter, NotFoundError, type ApiClient } from './client.ts';
import { nextAfter, recordsOf } from './pages.ts';
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

export function connectApi(source: SourceConfig, onRetry: (message: string) => void): ApiClient {
  const variable = source.token_env ?? '';
  const token = process.env[variable];
  if (!token) throw new StreamError(`set ${variable} to the API token of ${source.name}`);
  return createApiClient({ baseUrl: source.base_url ?? '', token, tokenEnv: variable, onRetry });
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
  const asked = since === undefined ? undefined : lookBack(since, source.lookback_minutes);
  let watermark = since;
  let watermarkMs = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
  const readAll = async (workDir: string) => {
    // A page may come twice (the server's view shifted); a token that keeps coming back is a loop.
    const seenTokens = new Map<string, number>();
    let after: string | undefined;
    let offset = 0;
    // search paging: the since-filter of the query under way (a new query starts past SEARCH_RESULT_CAP results).
    let querySince = asked;
    const pageSize = source.page_size ?? kind.pageSize;
    const pageTurn = createRateLimiter(source.requests_per_second ?? kind.requestsPerSecond);
    const fetchPage = async (): Promise<{ page: unknown; url: string }> => {
      await pageTurn();
      if (kind.pagination === 'search') {
        const request = searchRequest(stream, querySince, after, pageSize);
        return { page: await client.postJson(`${stream.path}/search`, request), url: describeSearch(client.describe(`${stream.path}/search`, {}), request) };
      }
      const params =
        kind.pagination === 'cursor'
          ? { limit: pageSize, after, [kind.sinceParam!]: asked }
          : { count: pageSize, offset, [kind.sinceParam!]: asked };
      return { page: await client.getJson(stream.path, params), url: client.describe(stream.path, params) };
    };
    for (let pageNumber = 1; ; pageNumber++) {
      let fetched: { page: unknown; url: string };
      try {
        fetched = await fetchPage();
      } catch (error) {
        if (error instanceof NotFoundError && stream.optional && pageNumber === 1) throw new StreamAbsent(stream.path);
        throw error;
      }
      const { page, url } = fetched;
      let records = recordsOf(page, stream.itemsKey, url);
      if (kind.pagination === 'search') records = await flattenSearchRecords(client, stream, records, url);
      if (records.length) {
        const file = path.join(workDir, `page-${pageNumber}.ndjson`);
        writeFileSync(file, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
        const pageCounts = [...(await loadStagedFiles(ctx, target, [{ path: file, origin: url }])).values()][0]!;
        rmSync(file, { force: true });
        counts.files_loaded++;
        counts.rows_read += pageCounts.read;
        counts.rows_loaded += pageCounts.loaded;
        counts.rows_quarantined += pageCounts.quarantined;
        for (const record of records) {
          const value = record[stream.cursorField];
          const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
          if (ms > watermarkMs) {
            watermarkMs = ms;
            watermark = value as string;
          }
        }
        log.progress(`${source.name}.${stream.name}: records`, counts.rows_read, counts.rows_read);
      }
      if (kind.pagination === 'cursor' || kind.pagination === 'search') {
        after = nextAfter(page);
        if (after === undefined) break;
        if (kind.pagination === 'search' && Number(after) >= SEARCH_RESULT_CAP) {
          // The search pages no further: a new query from the newest cursor value read (records at that value come again, and merge).
          if (watermark === undefined || watermark === querySince) {
            throw new StreamError(`${url}: more than ${SEARCH_RESULT_CAP} records share ${stream.cursorField} = ${watermark}; the search cannot page past them`);
          }
          querySince = watermark;
          after = undefined;
          seenTokens.clear();
          continue;
        }
        const seen = (seenTokens.get(after) ?? 0) + 1;
        if (seen > 3) throw new StreamError(`${url}: the server sent the paging token "${after}" ${seen} times; stopping instead of looping`);
        seenTokens.set(after, seen);
      } else {
        const total = Number((page as { total_items?: unknown }).total_items);
        offset += records.length;
        if (!records.length || !Number.isFinite(total) || offset >= total) break;
      }
    }
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
