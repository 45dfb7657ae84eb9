// The `tango` command line. Every command has --help; exit codes are listed
// in EXIT_CODES and in `tango --help`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';

import { ConfigError, loadConfig, STEP_NAMES, type Config, type StepName } from './config.ts';
import { DATASET_NAMES, DATASETS, datasetConfigFile, type DatasetName } from './demo/datasets.ts';
import { DEFAULT_GENERATE_OPTIONS, generateDemoData, type DemoFolders, type GenerateResult } from './demo/generate.ts';
import { loadCrmIntoPostgres } from './demo/postgres.ts';
import { LockHeldError } from './lock.ts';
import { createLogger, type Logger } from './log.ts';
import { DEMO_DIR } from './paths.ts';
import { EXPORT_FORMATS, exportList, exportStandardLists, LIST_MODEL, type ExportFormat, type ListFilters } from './export.ts';
import { openWarehouse } from './warehouse.ts';
import { FLOW_FORMATS, FLOWS_FUNCTION, FlowDatesError, flowsCsv, flowsMatrix, stageFlows, type FlowFormat } from './flows.ts';
import { exitOnStopSignals, runPipeline, withWarehouseLock, type RunResult } from './pipeline.ts';
import { serveSite, snapshotWarehouse } from './report.ts';
import { startScheduler } from './schedule.ts';
import { LAST_RUNS, statusText, warehouseStatus } from './status.ts';
import { generateDocs } from './transform.ts';
import { fitTransactions, validateTransactions } from './clv/run.ts';
import { TIME_UNITS, type SummaryOptions, type TimeUnit } from './clv/transactions.ts';

export const EXIT_CODES = {
  ok: 0,
  /** A step failed (the run is recorded as failed). */
  failed: 1,
  /** Bad usage or an invalid config. */
  usage: 2,
  /** Another process holds the warehouse lock. */
  locked: 3,
} as const;

const EXIT_CODE_HELP = `
Exit codes:
  0    success
  1    a step failed (see the message and the log file)
  2    bad usage or invalid config (the message names the file and key)
  3    another Tango process is writing this warehouse (the message names it)
  130  stopped by SIGINT, 143 stopped by SIGTERM`;

const UNIT_TESTS_HELP = "also run dbt's unit tests (fixed inputs, so they check the models' code, not the data: for developing a model, not needed in scheduled runs)";

interface GlobalOptions {
  config?: string;
  quiet?: boolean;
}

class UsageError extends Error {
  override name = 'UsageError';
  /** Commander has printed its own usage errors already. */
  constructor(
    message: string,
    readonly printed = false,
  ) {
    super(message);
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return number;
}

function portNumber(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return number;
}

function exportFormats(value: string): ExportFormat[] {
  const formats = value.split(',').map((format) => format.trim());
  const unknown = formats.filter((format) => !(EXPORT_FORMATS as readonly string[]).includes(format));
  if (unknown.length) throw new InvalidArgumentError(`unknown format(s) ${unknown.join(', ')}; formats are ${EXPORT_FORMATS.join(', ')}`);
  return EXPORT_FORMATS.filter((format) => formats.includes(format));
}

function flowFormat(value: string): FlowFormat {
  if (!(FLOW_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${FLOW_FORMATS.join(', ')}`);
  return value as FlowFormat;
}

function parseSteps(value: string): StepName[] {
  const steps = value.split(',').map((step) => step.trim());
  const unknown = steps.filter((step) => !(STEP_NAMES as readonly string[]).includes(step));
  if (unknown.length) throw new InvalidArgumentError(`unknown step(s) ${unknown.join(', ')}; steps are ${STEP_NAMES.join(', ')}`);
  return STEP_NAMES.filter((step) => steps.includes(step));
}

/** A real day as YYYY-MM-DD: Date.parse alone takes 2024-02-30 and rolls it over to March 1. */
function isoDate(value: string): string {
  const date = new Date(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(date.getTime()) || !date.toISOString().startsWith(value)) {
    throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  }
  return value;
}

function timeUnit(value: string): TimeUnit {
  if (!(value in TIME_UNITS)) throw new InvalidArgumentError(`must be one of ${Object.keys(TIME_UNITS).join(', ')}`);
  return value as TimeUnit;
}

interface ClvCliOptions {
  transactions: string;
  customerCol: string;
  dateCol: string;
  amountCol: string;
  calibrationEnd: string;
  unit: TimeUnit;
  json?: boolean;
}

function addTransactionOptions(command: Command): Command {
  return command
    .requiredOption('--transactions <file>', 'transactions: CSV or whitespace-separated, with or without a header')
    .requiredOption('--customer-col <column>', 'the customer column: a header name or a 1-based position')
    .requiredOption('--date-col <column>', 'the date column (YYYYMMDD or ISO dates): a name or a position')
    .requiredOption('--amount-col <column>', 'the amount column: a name or a position')
    .requiredOption('--calibration-end <date>', 'last day of the calibration period, YYYY-MM-DD', isoDate)
    .option('--unit <unit>', `time unit of t_x, T and the parameters: ${Object.keys(TIME_UNITS).join(', ')}`, timeUnit, 'weeks')
    .option('--json', 'print one JSON object instead of a table');
}

function summaryOptions(options: ClvCliOptions): SummaryOptions {
  return {
    file: path.resolve(options.transactions),
    columns: { customer: options.customerCol, date: options.dateCol, amount: options.amountCol },
    calibrationEnd: options.calibrationEnd,
    unit: options.unit,
  };
}

const MODEL_NAMES = { bgnbd: 'BG/NBD', mbgnbd: 'MBG/NBD', gamma_gamma: 'Gamma-Gamma' } as const;

/** Runs a clv command and prints its result; a bad file or a failed fit ends like any failed command (main prints it, exit code 1). */
async function clvAction<T>(work: () => Promise<T>, print: (result: T) => string): Promise<void> {
  process.stdout.write(print(await work()));
}

const fixed = (value: number, digits = 4) => value.toFixed(digits);

function datasetName(value: string): DatasetName {
  if (!(DATASET_NAMES as string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${DATASET_NAMES.join(', ')}`);
  return value as DatasetName;
}

/** The config (from --config, or `file` when given) and a logger writing to its log file. */
function context(command: Command, file?: string): { config: Config; log: Logger } {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const config = loadConfig(file ?? globals.config);
  const log = createLogger({ file: config.logPath, quiet: globals.quiet });
  return { config, log };
}

function summarize(result: RunResult, log: Logger): void {
  for (const step of result.steps) {
    log.info(`  ${step.step.padEnd(9)} ${step.status.padEnd(9)} ${step.seconds.toFixed(1).padStart(7)} s`);
  }
  if (result.status === 'failed') {
    log.error(`run ${result.runId} failed: ${result.error ?? 'unknown error'}`);
    process.exitCode = EXIT_CODES.failed;
  } else {
    log.info(`run ${result.runId} succeeded`);
  }
}

async function runSteps(
  command: Command,
  steps: readonly StepName[],
  extra: { sources?: string[]; fullRefresh?: boolean; unitTests?: boolean } = {},
  { config, log } = context(command),
) {
  exitOnStopSignals(log);
  const result = await runPipeline({ config, steps, log, command: `tango ${process.argv.slice(2).join(' ')}`, ...extra });
  summarize(result, log);
  return { config, log, result };
}

function demoFolders(config: Config): DemoFolders {
  const folderOf = (kind: string) => {
    const source = config.sources.find((candidate) => candidate.kind === kind);
    if (!source) throw new ConfigError(`Invalid config ${config.file}:\n  sources: the demo needs a source of kind ${kind}`);
    return source.absolutePath;
  };
  return { crm: folderOf('crm_files'), web: folderOf('web_files'), email: folderOf('email_files') };
}

interface GenerateCliOptions {
  customers: number;
  seed: number;
  start: string;
  end: string;
}

function addGenerateOptions(command: Command): Command {
  return command
    .option('--customers <n>', 'number of people (1,000 to 10,000,000 is the tested range)', positiveInteger, DEFAULT_GENERATE_OPTIONS.customers)
    .option('--seed <n>', 'random seed (same seed, size and dates: byte-identical files)', positiveInteger, DEFAULT_GENERATE_OPTIONS.seed)
    .option('--start <date>', 'first day of the history, YYYY-MM-DD', isoDate, DEFAULT_GENERATE_OPTIONS.startDate)
    .option('--end <date>', 'last day of the history, YYYY-MM-DD', isoDate, DEFAULT_GENERATE_OPTIONS.endDate);
}

async function generate(options: GenerateCliOptions, folders: DemoFolders, truthFolder: string, log: Logger): Promise<GenerateResult> {
  log.info(`generate: ${options.customers.toLocaleString('en-US')} people, seed ${options.seed}, ${options.start} .. ${options.end}`);
  const started = Date.now();
  const result = await generateDemoData({
    customers: options.customers,
    seed: options.seed,
    startDate: options.start,
    endDate: options.end,
    folders,
    truthFolder,
    onProgress: (done, total) => log.progress('generate: people', done, total),
  });
  const rows = Object.entries(result.rows).map(([stream, count]) => `${stream} ${count.toLocaleString('en-US')}`);
  const malformed = Object.values(result.malformed).reduce((sum, count) => sum + count, 0);
  log.info(`generate: wrote ${rows.join(', ')} (+${malformed} malformed rows on purpose) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  log.info(`generate: ground truth in ${truthFolder}`);
  return result;
}

async function serveUntilStopped(config: Config, log: Logger, host: string, port: number): Promise<void> {
  const { url, server } = await serveSite(host, port, log);
  process.stdout.write(`\nThe report is at ${url}  (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => resolve()));
  });
  void config;
}

export function buildProgram(): Command {
  const program = new Command('tango')
    .description('Customer-lifecycle warehouse: extract CRM, web and email data into DuckDB, model it with dbt, report it with Evidence.')
    .option('-c, --config <file>', 'config file (default: $TANGO_CONFIG or tango.config.yaml in the project)')
    .option('-q, --quiet', 'print warnings and errors only (the log file still gets everything)')
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODE_HELP)
    .configureOutput({ outputError: (message, write) => write(message) })
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new UsageError(error.message, true);
    });

  addGenerateOptions(
    program
      .command('demo')
      .description("run extract -> transform -> report on a demo data set and serve the report (default: generate the synthetic shop first)")
      .addOption(
        new Option('--dataset <name>', `data set: ${DATASET_NAMES.join(', ')}`).argParser(datasetName).default('synthetic'),
      ),
  )
    .option('--no-serve', 'stop after building the report instead of serving it')
    .option('--host <host>', 'address to serve on (default: report.host in the config)')
    .option('--port <port>', 'port to serve on (default: report.port in the config)', portNumber)
    .addHelpText(
      'after',
      `\nData sets:\n${Object.entries(DATASETS).map(([name, text]) => `  ${name.padEnd(14)} ${text}`).join('\n')}\n` +
        `Public data sets are read from $TANGO_PUBLIC_DATA (default ../shared/data/public beside the project),\n` +
        `mapped by datasets/<name>.yaml, into their own warehouse under data/datasets/<name>/.\n` +
        `--customers, --seed, --start and --end apply to the synthetic data set only.\n${EXIT_CODE_HELP}`,
    )
    .action(
      async (options: GenerateCliOptions & { dataset: DatasetName; serve: boolean; host?: string; port?: number }, command: Command) => {
        const run = options.dataset === 'synthetic' ? context(command) : context(command, datasetConfigFile(options.dataset));
        const { config, log } = run;
        if (options.dataset === 'synthetic') {
          await generate(options, demoFolders(config), path.join(DEMO_DIR, 'truth'), log);
        } else {
          // Before the run starts, so that the message says where the data is looked for and how to point elsewhere.
          const missing = config.sources.find((source) => source.path !== undefined && !existsSync(source.absolutePath));
          if (missing) {
            throw new UsageError(
              `data set ${options.dataset}: its files are read from ${missing.absolutePath}, which does not exist. ` +
                'The public data sets are read from ../shared/data/public beside the project; set TANGO_PUBLIC_DATA to the folder that holds them.',
            );
          }
          log.info(`demo: data set ${options.dataset}, config ${config.file}`);
        }
        // A demo always starts from the files as they are now.
        const { result } = await runSteps(command, STEP_NAMES, { fullRefresh: true }, run);
        if (result.status === 'failed' || !options.serve) return;
        await serveUntilStopped(config, log, options.host ?? config.report.host, options.port ?? config.report.port);
      },
    );

  addGenerateOptions(
    program
      .command('generate')
      .description('write the synthetic shop\'s CRM, web and email exports and their ground truth, without loading them'),
  )
    .option('--out <dir>', 'where to write sources/{crm,web,email}/ and truth/', DEMO_DIR)
    .option('--postgres-env <name>', 'also write the CRM into the PostgreSQL database whose postgres:// URL is in this environment variable (its CRM tables are replaced)')
    .addHelpText('after', `\nThe model and the warts (with their rates) are in pipelines/demo/model.ts.\n${EXIT_CODE_HELP}`)
    .action(async (options: GenerateCliOptions & { out: string; postgresEnv?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const out = path.resolve(options.out);
      const log = createLogger({ file: path.join(out, 'generate.jsonl'), quiet: globals.quiet });
      const sources = path.join(out, 'sources');
      const url = options.postgresEnv ? process.env[options.postgresEnv] : undefined;
      if (options.postgresEnv && !url) throw new UsageError(`--postgres-env: set ${options.postgresEnv} to a postgres:// URL`);
      const folders = { crm: path.join(sources, 'crm'), web: path.join(sources, 'web'), email: path.join(sources, 'email') };
      await generate(options, folders, path.join(out, 'truth'), log);
      if (url) {
        const rows = await loadCrmIntoPostgres(url, folders.crm);
        log.info(`generate: CRM written to the database in ${options.postgresEnv}: ${Object.entries(rows).map(([table, count]) => `${table} ${count}`).join(', ')}`);
      }
    });

  program
    .command('run')
    .description('run the pipeline: extract -> transform -> report, recorded in _meta.pipeline_runs')
    .option('--steps <list>', `comma-separated subset of ${STEP_NAMES.join(',')}`, parseSteps, [...STEP_NAMES])
    .option('--source <name...>', 'extract only these sources')
    .option('--full-refresh', 'reload the extracted streams from scratch (atomically per stream) and rebuild the incremental models')
    .option('--unit-tests', UNIT_TESTS_HELP)
    .addHelpText('after', EXIT_CODE_HELP)
    .action(async (options: { steps: StepName[]; source?: string[]; fullRefresh?: boolean; unitTests?: boolean }, command: Command) => {
      await runSteps(command, options.steps, { sources: options.source, fullRefresh: options.fullRefresh, unitTests: options.unitTests });
    });

  program
    .command('status')
    .description('what the warehouse holds of each configured source and stream, and how the last runs went')
    .option('--json', 'print it as JSON')
    .addHelpText(
      'after',
      `\nPer stream: rows in raw_<source>, rows flagged deleted in the source, rows quarantined (their reasons\n` +
        `are in _meta.quarantine), files loaded, the watermark a database or API stream goes on from, and\n` +
        `when rows last came; then the last ${LAST_RUNS} runs. Reads the warehouse under its lock.\n${EXIT_CODE_HELP}`,
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const { config, log } = context(command);
      if (!existsSync(config.warehousePath)) throw new Error(`No warehouse at ${config.warehousePath}: run \`tango extract\` or \`tango run\` first`);
      const status = await withWarehouseLock(config, 'tango status', log, async () => {
        const warehouse = await openWarehouse(config.warehousePath, { readOnly: true });
        try {
          return await warehouseStatus(warehouse.connection, config);
        } finally {
          warehouse.close();
        }
      });
      process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
    });

  program
    .command('extract')
    .description('load what is new in each source into raw_<source> schemas: new files (one already loaded is skipped), and what changed in a database or API since the last run')
    .option('--source <name...>', 'only these sources (default: all in the config)')
    .option('--full-refresh', 'reload the streams from scratch, atomically per stream')
    .addHelpText('after', EXIT_CODE_HELP)
    .action(async (options: { source?: string[]; fullRefresh?: boolean }, command: Command) => {
      await runSteps(command, ['extract'], { sources: options.source, fullRefresh: options.fullRefresh });
    });

  program
    .command('transform')
    .description('dbt: every model, seed and data test against the warehouse, with the clv step scoring buyers between its passes')
    .option('--full-refresh', 'rebuild the incremental models (the web and email event tables) from scratch')
    .option('--unit-tests', UNIT_TESTS_HELP)
    .addHelpText('after', EXIT_CODE_HELP)
    .action(async (options: { fullRefresh?: boolean; unitTests?: boolean }, command: Command) => {
      await runSteps(command, ['transform'], { fullRefresh: options.fullRefresh, unitTests: options.unitTests });
    });

  program
    .command('docs')
    .description("dbt docs generate: the models' documentation (grain, columns, tests, lineage) as a static site beside the warehouse")
    .action(async (_options: unknown, command: Command) => {
      const { config, log } = context(command);
      const index = await withWarehouseLock(config, 'tango docs', log, () => generateDocs(config.warehousePath, log));
      process.stdout.write(`The model documentation is at ${index}\n`);
    });

  program
    .command('export')
    .description(`write customer lists with contact fields and the recommended strategy (${LIST_MODEL}) as CSV and Parquet files`)
    .option('--out <dir>', 'folder to write into (default: exports/ beside the warehouse)')
    .option('--name <name>', 'file name without extension; with it, one list of the customers the filters select')
    .option('--stage <stage...>', 'only these lifecycle stages')
    .option('--segment <segment...>', "only these RFM segments ('none': not a buyer)")
    .option('--strategy <strategy...>', 'only these recommended strategies')
    .option('--cohort <YYYY-MM...>', 'only these acquisition cohorts')
    .option('--channel <channel...>', 'only these first-touch channels')
    .option('--country <code...>', "only these countries, as in the CRM (e.g. DE; 'none': no country on record)")
    .option('--age-band <band...>', "only these age bands on the reporting day (seeds/age_bands.csv, e.g. 25-34; 'none': no age on record)")
    .option('--emailable', 'only customers a list may email: an email address, email consent, and no opt-out or hard bounce at the email service')
    .option('--format <list>', `comma-separated subset of ${EXPORT_FORMATS.join(',')}`, exportFormats, [...EXPORT_FORMATS])
    .addHelpText(
      'after',
      `\nWithout --name: every customer (customers.*) and one list per strategy (strategy-<strategy>.*),\n` +
        `as each report build also publishes beside the site. Filters need --name.\n` +
        `Reads the warehouse under its lock; most valuable customers (predicted CLV) first.\n${EXIT_CODE_HELP}`,
    )
    .action(async (options: ListFilters & { out?: string; name?: string; format: ExportFormat[] }, command: Command) => {
      const { config, log } = context(command);
      const { out, name, format, ...filters } = options;
      const filtered = Object.values(filters).some((value) => value !== undefined);
      if (filtered && !name) throw new UsageError('filters select one list: give its file name with --name');
      const dir = path.resolve(out ?? path.join(path.dirname(config.warehousePath), 'exports'));
      const files = await withWarehouseLock(config, 'tango export', log, async () => {
        const warehouse = await openWarehouse(config.warehousePath, { readOnly: true });
        try {
          return name ? await exportList(warehouse.connection, dir, name, filters, format) : await exportStandardLists(warehouse.connection, dir, format);
        } finally {
          warehouse.close();
        }
      });
      for (const file of files) process.stdout.write(`${String(file.rows).padStart(10)} customers  ${file.file}\n`);
    });

  program
    .command('flows')
    .description('how many customers moved from each lifecycle stage to each other between two dates, from the last transform')
    .requiredOption('--from <YYYY-MM-DD>', 'the first date', isoDate)
    .requiredOption('--to <YYYY-MM-DD>', 'the second date: after the first, and no later than the reporting day', isoDate)
    .option('--format <format>', `${FLOW_FORMATS.join(' or ')}`, flowFormat, 'matrix')
    .addHelpText(
      'after',
      `\nThe Lifecycle page shows flows between month ends; this gives them between any two days. It calls\n` +
        `the warehouse's function ${FLOWS_FUNCTION}(from, to), which any SQL client can call too.\n` +
        `Reads the warehouse under its lock.\n${EXIT_CODE_HELP}`,
    )
    .action(async (options: { from: string; to: string; format: FlowFormat }, command: Command) => {
      const { config, log } = context(command);
      if (!existsSync(config.warehousePath)) throw new Error(`No warehouse at ${config.warehousePath}: run \`tango run\` first`);
      const flows = await withWarehouseLock(config, 'tango flows', log, async () => {
        const warehouse = await openWarehouse(config.warehousePath, { readOnly: true });
        try {
          return await stageFlows(warehouse.connection, options.from, options.to);
        } catch (error) {
          throw error instanceof FlowDatesError ? new UsageError(error.message) : error;
        } finally {
          warehouse.close();
        }
      });
      process.stdout.write(options.format === 'csv' ? flowsCsv(flows) : flowsMatrix(flows));
    });

  const clv = program.command('clv').description('predictive lifetime value: BG/NBD, MBG/NBD and Gamma-Gamma fitted to a transaction file');
  addTransactionOptions(
    clv.command('fit').description('fit the models to the calibration period and print their parameters and log-likelihoods'),
  ).action((options: ClvCliOptions) =>
    clvAction(
      () => fitTransactions(summaryOptions(options)),
      (report) =>
        options.json
          ? `${JSON.stringify(report)}\n`
          : [
              `${report.customers} customers, ${report.repeat_customers} repeat buyers (calibration to ${report.calibration_end}, unit ${report.unit})`,
              `${'model'.padEnd(13)} parameters (standard errors)`,
              ...(['bgnbd', 'mbgnbd', 'gamma_gamma'] as const).map((model) => {
                const { loglik, ...parameters } = report[model];
                const errors = report.diagnostics[model].standard_errors;
                const shown = Object.entries(parameters).map(([name, value]) => `${name} ${fixed(value)} (${fixed(errors[name] ?? Number.NaN)})`);
                return `${MODEL_NAMES[model].padEnd(13)} ${shown.join('  ')}  log-likelihood ${fixed(loglik, 2)}`;
              }),
              ...(report.spend_excluded ? [`${report.spend_excluded} repeat buyers without a positive mean spend left out of Gamma-Gamma`] : []),
              '',
            ].join('\n'),
    ),
  );
  addTransactionOptions(
    clv
      .command('validate')
      .description('fit BG/NBD on the calibration period and compare its predicted repeat purchases with the holdout that follows'),
  )
    .option('--holdout-end <date>', 'last day of the holdout period (default: the last purchase in the file)', isoDate)
    .action((options: ClvCliOptions & { holdoutEnd?: string }) =>
      clvAction(
        () => validateTransactions({ ...summaryOptions(options), holdoutEnd: options.holdoutEnd }),
        (report) => {
          if (options.json) return `${JSON.stringify(report)}\n`;
          const lines = [
            `Holdout ${report.calibration_end} .. ${report.holdout_end} (${fixed(report.holdout_length, 2)} ${report.unit}): ` +
              `repeat purchases actual ${report.total.actual}, predicted ${fixed(report.total.predicted, 1)}`,
            '',
            'calibration repeat purchases | customers | holdout actual (mean) | predicted (mean)',
            ...report.by_frequency.map((bin) => `${bin.calibration_purchases.padStart(28)} | ${String(bin.customers).padStart(9)} | ${fixed(bin.actual, 3).padStart(21)} | ${fixed(bin.predicted, 3).padStart(16)}`),
            '',
            `cumulative repeat purchases | actual | predicted (per ${report.unit.replace(/s$/, '')})`,
            ...report.cumulative.map((point) => `${String(point.period).padStart(27)} | ${String(point.actual).padStart(6)} | ${fixed(point.predicted, 1).padStart(9)}`),
            '',
          ];
          return lines.join('\n');
        },
      ),
    );

  const report = program.command('report').description('the Evidence report site: build it from a snapshot, or serve it');
  report
    .command('build')
    .description('snapshot the marts and reports schemas and build the static site into reports/build')
    .addHelpText('after', EXIT_CODE_HELP)
    .action(async (_options: unknown, command: Command) => {
      await runSteps(command, ['report']);
    });
  report
    .command('serve')
    .description('serve the built site (default 127.0.0.1; see report.host and report.port in the config)')
    .option('--host <host>', 'address to bind (default: report.host in the config)')
    .option('--port <port>', 'port to bind, 0 for any free one (default: report.port in the config)', portNumber)
    .addHelpText('after', EXIT_CODE_HELP)
    .action(async (options: { host?: string; port?: number }, command: Command) => {
      const { config, log } = context(command);
      await serveUntilStopped(config, log, options.host ?? config.report.host, options.port ?? config.report.port);
    });
  report
    .command('snapshot')
    .description('only copy the marts and reports schemas into the report snapshot (no site build)')
    .action(async (_options: unknown, command: Command) => {
      const { config, log } = context(command);
      const tables = await snapshotWarehouse(config.warehousePath);
      log.info(`report: snapshot of ${tables} table(s) written`);
    });

  program
    .command('schedule')
    .description('run the jobs in schedule.jobs of the config on their cron schedules, until SIGTERM or Ctrl-C')
    .option('--check', 'validate the jobs, print their next run times and exit')
    .addHelpText(
      'after',
      `\nEach job: name, cron (5 or 6 fields), timezone (IANA, e.g. Europe/Berlin), steps.\n` +
        `A job never overlaps itself. On SIGTERM the daemon stops scheduling, lets a running job finish, then exits.\n${EXIT_CODE_HELP}`,
    )
    .action(async (options: { check?: boolean }, command: Command) => {
      const { config, log } = context(command);
      const scheduler = startScheduler(config, log);
      if (options.check) {
        await scheduler.stop();
        return;
      }
      log.info(`scheduler: running ${config.schedule.jobs.length} job(s); SIGTERM or Ctrl-C stops after the running job`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          log.info(`scheduler: ${signal} received, stopping`);
          void scheduler.stop().then(resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      log.info('scheduler: stopped');
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_CODES.ok;
  } catch (error) {
    const err = error as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith('commander.') && err.exitCode === 0) return EXIT_CODES.ok; // --help, --version
    if (error instanceof UsageError) {
      if (!error.printed) process.stderr.write(`error: ${error.message}\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof LockHeldError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CODES.locked;
    }
    process.stderr.write(`error: ${err.message}\n`);
    if (process.env.TANGO_DEBUG) process.stderr.write(`${err.stack}\n`);
    return EXIT_CODES.failed;
  }
}
