// The project config: one YAML file, validated at load. Every error names the
// file and the key path, so a user can go straight to the line to fix.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateDetailed } from 'node-cron';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { PROJECT_ROOT } from './paths.ts';
import { SOURCE_KIND_REGISTRY, SOURCE_KINDS } from './sources/registry.ts';

export const STEP_NAMES = ['extract', 'transform', 'report'] as const;
export type StepName = (typeof STEP_NAMES)[number];


/** A warehouse-safe identifier: it becomes part of a schema name (`raw_<name>`). */
const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and _, starting with a letter');

/**
 * Reads a stream from files laid out differently from the kind's default: a
 * public data set, another tool's export. Its columns are mapped into the same
 * raw contract, so everything downstream is unchanged.
 */
const streamOverrideSchema = z.strictObject({
  /** File sources: a glob below the source folder; `*` within a folder, `**` across folders. Default: the kind's own layout (contacts*.csv). */
  files: z.string().min(1).optional(),
  /** Database sources: the table (or view) to read, instead of the stream's name. */
  table: z.string().min(1).optional(),
  /** Database sources: the watermark column (or expression), instead of updated_at. */
  cursor: z.string().min(1).optional(),
  /** Database sources: a SQL condition true for soft-deleted rows (loaded with is_deleted = true). */
  deleted: z.string().min(1).optional(),
  format: z.enum(['csv', 'ndjson', 'whitespace', 'parquet', 'auto']).optional(),
  header: z.boolean().optional(),
  /** Column names in file order, for files without a header line. */
  file_columns: z.array(z.string().min(1)).min(1).optional(),
  delimiter: z.string().length(1).optional(),
  encoding: z.enum(['utf-8', 'latin-1']).optional(),
  /** Contract column -> SQL expression over the file's columns and `_record`. */
  map: z.record(z.string(), z.string().min(1)).optional(),
  /** SQL condition: only matching rows belong to this stream. */
  where: z.string().min(1).optional(),
  /** Search APIs (crm_hubspot): more record properties to ask for, for a map to use; the search answers with those asked alone. */
  properties: z.array(z.string().min(1)).min(1).optional(),
});

const sourceSchema = z.strictObject({
  name: identifier,
  kind: z.enum(SOURCE_KINDS),
  /** File sources: the folder the export files are dropped into, relative to the config file. */
  path: z.string().min(1).optional(),
  /** Database sources: the environment variable holding the connection URL (a secret, so never in this file). */
  connection_env: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name, e.g. TANGO_CRM_DATABASE_URL').optional(),
  /** API sources: the base URL of the API. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** API sources: the environment variable holding the bearer token (a secret, so never in this file). */
  token_env: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name, e.g. TANGO_CRM_API_TOKEN').optional(),
  /** API sources: records per page, instead of the kind's default. */
  page_size: z.number().int().min(1).max(10_000).optional(),
  /**
   * API and database sources: also re-read what changed up to this many
   * minutes before the last run's watermark, for a source whose clock lags or
   * whose rows are committed late with an earlier time. Records merge on their
   * key, so a re-read changes nothing else. Needs a time cursor.
   */
  lookback_minutes: z.number().int().min(0).max(7 * 24 * 60).optional(),
  /** API sources: at most this many page requests a second, instead of the kind's default (HubSpot's search allows 4). */
  requests_per_second: z.number().positive().max(10_000).optional(),
  /** email_mailchimp: days after a campaign's sending during which each run reads its activity again (default 30). */
  activity_days: z.number().int().min(0).max(3650).optional(),
  /** Only these streams, read as described; without it, every stream of the kind with its default layout. */
  streams: z.record(identifier, streamOverrideSchema).optional(),
});

export function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

const jobSchema = z.strictObject({
  name: identifier,
  cron: z.string().superRefine((expression, ctx) => {
    const result = validateDetailed(expression);
    if (!result.valid) {
      const detail = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      ctx.addIssue({ code: 'custom', message: `not a valid cron expression "${expression}" (${detail})` });
    }
  }),
  // node-cron accepts an unknown timezone silently and fails at the first tick,
  // so it is checked here against the runtime's IANA database.
  timezone: z.string().superRefine((timezone, ctx) => {
    if (!isValidTimezone(timezone)) ctx.addIssue({ code: 'custom', message: `unknown IANA timezone "${timezone}"` });
  }),
  steps: z.array(z.enum(STEP_NAMES)).min(1).default([...STEP_NAMES]),
});

const configSchema = z.strictObject({
  warehouse: z
    .strictObject({
      /** The DuckDB file; relative to the config file. */
      path: z.string().min(1).default('data/warehouse.duckdb'),
    })
    .default({ path: 'data/warehouse.duckdb' }),
  logs: z
    .strictObject({
      /** JSON-lines log file; relative to the config file. */
      path: z.string().min(1).default('data/logs/tango.jsonl'),
    })
    .default({ path: 'data/logs/tango.jsonl' }),
  sources: z.array(sourceSchema).default([]),
  schedule: z
    .strictObject({ jobs: z.array(jobSchema).default([]) })
    .default({ jobs: [] }),
  report: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(3000),
    })
    .default({ host: '127.0.0.1', port: 3000 }),
});

export type RawConfig = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type StreamOverride = z.infer<typeof streamOverrideSchema>;
export type JobConfig = z.infer<typeof jobSchema>;

/** The loaded config with every path made absolute. */
export interface Config extends RawConfig {
  file: string;
  warehousePath: string;
  logPath: string;
  /** File sources get absolutePath; database sources have none. */
  sources: (SourceConfig & { absolutePath: string })[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_CONFIG_FILE = path.join(PROJECT_ROOT, 'tango.config.yaml');

function describeKey(keyPath: readonly PropertyKey[]): string {
  if (keyPath.length === 0) return '(top level)';
  return keyPath
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** Validates an already parsed config object; `file` is used in messages and to resolve paths. */
export function parseConfig(input: unknown, file: string): Config {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${describeKey(issue.path)}: ${issue.message}`);
    throw new ConfigError(`Invalid config ${file}:\n${lines.join('\n')}`);
  }
  const raw = result.data;
  const names = new Set<string>();
  raw.sources.forEach((source, index) => {
    if (names.has(source.name)) {
      throw new ConfigError(`Invalid config ${file}:\n  sources[${index}].name: duplicate source name "${source.name}"`);
    }
    names.add(source.name);
    const kind = SOURCE_KIND_REGISTRY[source.kind];
    const fail = (key: string, message: string) => {
      throw new ConfigError(`Invalid config ${file}:\n  sources[${index}].${key}: ${message}`);
    };
    if (kind.transport === 'files' && !source.path) fail('path', `required for kind ${source.kind} (the folder its files are dropped into)`);
    if (kind.transport === 'postgres' && !source.connection_env) {
      fail('connection_env', `required for kind ${source.kind} (the environment variable holding the postgres:// URL)`);
    }
    if (kind.transport === 'http' && !source.base_url) fail('base_url', `required for kind ${source.kind} (the API's base URL)`);
    if (kind.transport === 'http' && !source.token_env) fail('token_env', `required for kind ${source.kind} (the environment variable holding the API token)`);
    if (kind.transport !== 'http' && source.requests_per_second !== undefined) fail('requests_per_second', `not used by kind ${source.kind}`);
    const readsReports = kind.transport === 'http' && kind.streams.some((stream) => stream.reader === 'mailchimp_reports');
    if (!readsReports && source.activity_days !== undefined) fail('activity_days', `not used by kind ${source.kind}`);
    const fileKeys = ['files', 'format', 'header', 'file_columns', 'delimiter', 'encoding'] as const;
    const tableKeys = ['table', 'cursor', 'deleted'] as const;
    const known = kind.streams.map((stream) => stream.name);
    for (const [stream, override] of Object.entries(source.streams ?? {})) {
      if (!known.includes(stream)) fail(`streams.${stream}`, `kind ${source.kind} has no stream "${stream}" (it has ${known.join(', ')})`);
      const searchKeys = kind.transport === 'http' && kind.pagination === 'search' ? [] : (['properties'] as const);
      const foreign = [...(kind.transport === 'files' ? tableKeys : kind.transport === 'postgres' ? fileKeys : [...fileKeys, ...tableKeys]), ...searchKeys];
      for (const key of foreign) if (override[key] !== undefined) fail(`streams.${stream}.${key}`, `not used by kind ${source.kind}`);
    }
  });
  const jobNames = new Set<string>();
  raw.schedule.jobs.forEach((job, index) => {
    if (jobNames.has(job.name)) {
      throw new ConfigError(`Invalid config ${file}:\n  schedule.jobs[${index}].name: duplicate job name "${job.name}"`);
    }
    jobNames.add(job.name);
  });
  const base = path.dirname(path.resolve(file));
  return {
    ...raw,
    file: path.resolve(file),
    warehousePath: path.resolve(base, raw.warehouse.path),
    logPath: path.resolve(base, raw.logs.path),
    sources: raw.sources.map((source) => ({ ...source, absolutePath: path.resolve(base, source.path ?? '.') })),
  };
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value with the
 * environment's value, so that machine-specific paths stay out of the file.
 * An unset variable without a default is an error naming the key.
 */
export function interpolateEnvironment(value: unknown, file: string, env: NodeJS.ProcessEnv = process.env, keyPath = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`Invalid config ${file}:\n  ${keyPath || '(top level)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnvironment(item, file, env, `${keyPath}[${index}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnvironment(item, file, env, keyPath ? `${keyPath}.${key}` : key)]),
    );
  }
  return value;
}

/**
 * Loads the config from `file`, else $TANGO_CONFIG, else tango.config.yaml in
 * the project root. $TANGO_WAREHOUSE overrides warehouse.path so that tests and
 * one-off runs can point at another DuckDB file without editing the config.
 */
export function loadConfig(file?: string): Config {
  const configFile = path.resolve(file ?? process.env.TANGO_CONFIG ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(configFile)) throw new ConfigError(`Config file not found: ${configFile}`);
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(configFile, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Config file ${configFile} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const config = parseConfig(interpolateEnvironment(parsed, configFile), configFile);
  const override = process.env.TANGO_WAREHOUSE;
  return override ? { ...config, warehousePath: path.resolve(override) } : config;
}
