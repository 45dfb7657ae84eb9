// Logging: every event goes as one JSON line to the log file; people read short
// lines on stderr, and on a terminal long steps redraw one progress line.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

// Connection URLs (DATABASE_URL, DSN) carry passwords too.
const SECRET_ENV_NAME = /(PASSWORD|SECRET|TOKEN|API_?KEY|CREDENTIAL|DATABASE_URL|DSN)/i;

/** Values of secret-looking environment variables, longest first, so they can be masked. */
function secretValues(): string[] {
  return Object.entries(process.env)
    .filter(([name, value]) => SECRET_ENV_NAME.test(name) && value !== undefined && value.length >= 4)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length);
}

/** Replaces every secret value from the environment with `***`. */
export function redact(text: string): string {
  let result = text;
  for (const secret of secretValues()) result = result.split(secret).join('***');
  return result;
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Shows `done/total` for a long step on a terminal; logs nothing to the file. */
  progress(label: string, done: number, total?: number): void;
  child(fields: Fields): Logger;
}

interface LoggerOptions {
  file?: string;
  /** Human output; defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
  fields?: Fields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const isTTY = Boolean(stream.isTTY);
  let progressShown = false;
  if (options.file) mkdirSync(path.dirname(options.file), { recursive: true });

  const clearProgress = () => {
    if (progressShown) {
      stream.write('\r\x1b[K');
      progressShown = false;
    }
  };

  const write = (level: Level, message: string, fields: Fields = {}) => {
    const event = { time: new Date().toISOString(), level, message, ...options.fields, ...fields };
    if (options.file) appendFileSync(options.file, redact(JSON.stringify(event)) + '\n');
    if (level === 'debug' || (options.quiet && level === 'info')) return;
    clearProgress();
    const prefix = level === 'info' ? '' : `${level}: `;
    stream.write(redact(`${prefix}${message}`) + '\n');
  };

  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    progress(label, done, total) {
      if (!isTTY || options.quiet) return;
      const amount = total ? `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}` : done.toLocaleString('en-US');
      stream.write(`\r\x1b[K${label} ${amount}`);
      progressShown = true;
    },
    child: (fields) => createLogger({ ...options, fields: { ...options.fields, ...fields } }),
  };
}
