// Stage flows between any two dates (`tango flows`): the warehouse's own
// function reports.stage_flows_between (sql/macros/stage_flows.sql, the
// query behind the Lifecycle page's month-end flows), laid out for reading.
import type { DuckDBConnection } from '@duckdb/node-api';

import { queryRows } from './warehouse.ts';

const FLOWS_SCHEMA = 'reports';
const FLOWS_NAME = 'stage_flows_between';
export const FLOWS_FUNCTION = `${FLOWS_SCHEMA}.${FLOWS_NAME}`;
export const FLOW_FORMATS = ['matrix', 'csv'] as const;
export type FlowFormat = (typeof FLOW_FORMATS)[number];

/** The stage of a customer not yet known on the first date. */
const UNKNOWN = 'unknown';

export interface StageFlows {
  from: string;
  to: string;
  /** Stages in the order of the ladder, prospect first, then at_risk and lapsed (the seed's precedence, reversed). */
  stages: string[];
  /** Customers per from-stage and to-stage, every pair with at least one. */
  flows: { from_stage: string; to_stage: string; customers: number }[];
}

/** Thrown for dates the function refuses (its own message: the order of the dates, the reporting day). */
export class FlowDatesError extends Error {
  override name = 'FlowDatesError';
}

/** The flows between `from` and `to` (YYYY-MM-DD), from a transformed warehouse. */
export async function stageFlows(connection: DuckDBConnection, from: string, to: string): Promise<StageFlows> {
  const [present] = await queryRows<{ found: boolean }>(
    connection,
    'select count(*) > 0 as found from duckdb_functions() where schema_name = $schema and function_name = $name',
    { schema: FLOWS_SCHEMA, name: FLOWS_NAME },
  );
  if (!present?.found) throw new Error(`the warehouse has no ${FLOWS_FUNCTION} function yet: run \`tango transform\` (or \`tango run\`) first`);
  const stages = (
    await queryRows<{ lifecycle_stage: string }>(connection, 'select lifecycle_stage from seeds.lifecycle_stages order by precedence desc')
  ).map((row) => row.lifecycle_stage);
  let rows: { from_stage: string; to_stage: string; customers: bigint }[];
  try {
    rows = await queryRows(connection, `select from_stage, to_stage, customers from ${FLOWS_FUNCTION}(cast($from as date), cast($to as date))`, { from, to });
  } catch (error) {
    const message = (error as Error).message;
    const refused = /stage flows: (.*)$/m.exec(message);
    if (refused) throw new FlowDatesError(refused[1]!, { cause: error });
    throw error;
  }
  const rank = (stage: string) => (stage === UNKNOWN ? -1 : stages.indexOf(stage));
  const flows = rows
    .map((row) => ({ from_stage: row.from_stage, to_stage: row.to_stage, customers: Number(row.customers) }))
    .sort((a, b) => rank(a.from_stage) - rank(b.from_stage) || rank(a.to_stage) - rank(b.to_stage));
  return { from, to, stages, flows };
}

/** CSV: one line per pair of stages with customers, in ladder order. */
export function flowsCsv({ flows }: StageFlows): string {
  return ['from_stage,to_stage,customers', ...flows.map((flow) => `${flow.from_stage},${flow.to_stage},${flow.customers}`)].join('\n') + '\n';
}

/**
 * A matrix: a row per stage on the first date ('unknown': not yet known
 * then), a column per stage on the second, with totals.
 */
export function flowsMatrix({ from, to, stages, flows }: StageFlows): string {
  const count = (fromStage: string, toStage: string) =>
    flows.find((flow) => flow.from_stage === fromStage && flow.to_stage === toStage)?.customers ?? 0;
  const rowStages = [UNKNOWN, ...stages];
  const header = [`${from} \\ ${to}`, ...stages, 'total'];
  const body = rowStages.map((fromStage) => {
    const cells = stages.map((toStage) => count(fromStage, toStage));
    return [fromStage, ...cells, cells.reduce((a, b) => a + b, 0)].map(String);
  });
  const columnTotals = stages.map((toStage) => rowStages.reduce((sum, fromStage) => sum + count(fromStage, toStage), 0));
  body.push(['total', ...columnTotals, columnTotals.reduce((a, b) => a + b, 0)].map(String));
  const table = [header, ...body];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const lines = table.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  const known = columnTotals.reduce((a, b) => a + b, 0);
  return (
    `Customers by lifecycle stage on ${from} (rows) and on ${to} (columns): ${known.toLocaleString('en-US')} known on ${to}; ` +
    `'${UNKNOWN}': not yet known on ${from}.\n\n${lines.join('\n')}\n`
  );
}
