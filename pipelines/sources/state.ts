// Where an incremental (database or API) stream stopped, in _meta.stream_state.
// Written in the same transaction as the rows it covers.
import { queryRows } from '../warehouse.ts';
import type { ExtractContext } from './files.ts';

export interface StreamState {
  cursor_value: string | null;
  cursor_key: string | null;
  rows_loaded: bigint;
}

export async function readStreamState(ctx: ExtractContext, source: string, stream: string): Promise<StreamState | undefined> {
  const [state] = await queryRows<StreamState>(
    ctx.connection,
    'select cursor_value, cursor_key, rows_loaded from _meta.stream_state where source = $source and stream = $stream',
    { source, stream },
  );
  return state;
}

export async function writeStreamState(
  ctx: ExtractContext,
  source: string,
  stream: string,
  cursor: string,
  key: string | null,
  rowsLoaded: number,
): Promise<void> {
  await ctx.connection.run('delete from _meta.stream_state where source = $source and stream = $stream', { source, stream });
  await ctx.connection.run(`insert into _meta.stream_state values ($source, $stream, $cursor, $key, $rows, $run, now()::timestamp)`, {
    source,
    stream,
    cursor,
    key,
    rows: rowsLoaded,
    run: ctx.runId,
  });
}
