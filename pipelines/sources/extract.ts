// Extracts one configured source, whatever its transport: every contract of
// its domain is created, then each stream is loaded on its own. A failing
// stream keeps its state (its failed batch rolled back), the other streams
// still run, and the error is reported in its counts.
import type { SourceConfig } from '../config.ts';
import { applyDomainContracts } from '../warehouse.ts';
import { extractFileStream, filesOfUnlistedStreams, rawSchema, resolveFileStreams, type ExtractContext } from './files.ts';
import { connectApi, extractApiStream, resolveApiStreams } from './http/extract.ts';
import { connectPostgres, extractTableStreams, resolveTableStreams } from './postgres.ts';
import { SOURCE_KIND_REGISTRY } from './registry.ts';
import type { StreamCounts } from './types.ts';

function emptyCounts(source: string, stream: string): StreamCounts {
  return { source, stream, files_loaded: 0, files_skipped: 0, rows_read: 0, rows_loaded: 0, rows_quarantined: 0 };
}

/** Records a stream's failure in its counts (which the run reports) and in the log. */
function failStream(ctx: ExtractContext, counts: StreamCounts, error: unknown): void {
  counts.error = `source ${counts.source}, stream ${counts.stream}: ${(error as Error).message}`;
  ctx.log.error(counts.error);
}

async function runStreams<Stream extends { name: string }>(
  ctx: ExtractContext,
  source: SourceConfig,
  streams: readonly Stream[],
  extract: (stream: Stream, counts: StreamCounts) => Promise<void>,
): Promise<StreamCounts[]> {
  const results: StreamCounts[] = [];
  for (const stream of streams) {
    const counts = emptyCounts(source.name, stream.name);
    results.push(counts);
    try {
      await extract(stream, counts);
    } catch (error) {
      failStream(ctx, counts, error);
    }
  }
  return results;
}

export async function extractSource(ctx: ExtractContext, source: SourceConfig & { absolutePath: string }): Promise<StreamCounts[]> {
  const kind = SOURCE_KIND_REGISTRY[source.kind];
  // Every contract of the domain exists, loaded or not, so models never miss a table.
  await applyDomainContracts(ctx.connection, kind.domain, rawSchema(source.name));
  if (kind.transport === 'files') {
    for (const line of filesOfUnlistedStreams(kind, source, source.absolutePath)) ctx.log.warn(line);
    return runStreams(ctx, source, resolveFileStreams(kind, source), (stream, counts) => extractFileStream(ctx, source, stream, counts));
  }
  // Without a connection no stream can run: each reports why.
  const unreachable = (streams: readonly { name: string }[], error: unknown) =>
    streams.map((stream) => {
      const counts = emptyCounts(source.name, stream.name);
      failStream(ctx, counts, error);
      return counts;
    });
  if (kind.transport === 'http') {
    const streams = resolveApiStreams(kind, source);
    let client;
    try {
      client = connectApi(kind, source, (message) => ctx.log.warn(message));
    } catch (error) {
      return unreachable(streams, error);
    }
    return runStreams(ctx, source, streams, (stream, counts) => extractApiStream(ctx, client, kind, source, stream, counts));
  }
  const streams = resolveTableStreams(kind, source);
  let client;
  try {
    client = await connectPostgres(source);
  } catch (error) {
    return unreachable(streams, error);
  }
  try {
    return await extractTableStreams(ctx, client, source, streams, {
      counts: (stream) => emptyCounts(source.name, stream),
      fail: (counts, error) => failStream(ctx, counts, error),
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
