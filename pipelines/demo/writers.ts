// Buffered, back-pressured writers for the generator's exports. Writing a
// line is synchronous and only appends to a buffer; a full buffer puts its
// writer on a shared queue, and the generator flushes that queue between
// people, waiting for 'drain'. So millions of rows cost few stream writes and
// few awaits, and memory stays flat however much is written.
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { TransformOptions } from 'node:stream';
import { createGzip, type ZlibOptions } from 'node:zlib';

const CHUNK_BYTES = 1 << 16;
// What a stream takes before write() asks to wait for 'drain'. At the
// streams' default of 16 KiB every chunk waited, so the generator stopped for
// each chunk's compression instead of running beside it (100,000 people:
// 36-46 s -> 20-28 s; 1,000,000: 313 -> 257 s; the same bytes).
const STREAM_BUFFER_BYTES = 1 << 18;

/** Writers whose buffer is full, waiting for flushFull(). */
export class FlushQueue {
  readonly full = new Set<LineWriter>();

  async flushFull(): Promise<void> {
    if (!this.full.size) return;
    const writers = [...this.full];
    this.full.clear();
    await Promise.all(writers.map((writer) => writer.flush()));
  }
}

export class LineWriter {
  private readonly target: WriteStream;
  private readonly head: NodeJS.WritableStream;
  // Lines are encoded straight into an off-heap chunk: long-lived buffered
  // text would otherwise keep the garbage collector busy.
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private readonly pending: Buffer[] = [];

  constructor(
    readonly file: string,
    private readonly queue: FlushQueue,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.target = createWriteStream(file, { highWaterMark: STREAM_BUFFER_BYTES });
    // Level 1 with a smaller window: the day-partitioned web export keeps a
    // gzip stream open per day, so each must be light.
    // (zlib streams take the stream options too; @types/node leaves them out of ZlibOptions.)
    const gzipOptions: ZlibOptions & TransformOptions = { level: 1, memLevel: 7, windowBits: 14, writableHighWaterMark: STREAM_BUFFER_BYTES };
    const gzip = file.endsWith('.gz') ? createGzip(gzipOptions) : undefined;
    if (gzip) gzip.pipe(this.target);
    this.head = gzip ?? this.target;
  }

  /** Adds one line to the buffer. */
  write(line: string): void {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (this.used + line.length * 3 + 1 > this.chunk.length) {
      this.pending.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, line.length * 3 + 1));
      this.used = 0;
      this.queue.full.add(this);
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = 0x0a;
  }

  async flush(): Promise<void> {
    for (const buffer of this.pending.splice(0)) {
      if (!this.head.write(buffer)) await once(this.head, 'drain');
    }
  }

  async close(): Promise<void> {
    if (this.used) this.pending.push(this.chunk.subarray(0, this.used));
    this.used = 0;
    await this.flush();
    const finished = once(this.target, 'close');
    this.head.end();
    await finished;
  }
}

/** One writer per key (a day, a month), opened on first use. */
export class PartitionedWriter {
  private readonly writers = new Map<string, LineWriter>();

  constructor(
    private readonly fileFor: (key: string) => string,
    private readonly queue: FlushQueue,
    /** First line of every file (a CSV header), if any. */
    private readonly header?: string,
  ) {}

  writer(key: string): LineWriter {
    let writer = this.writers.get(key);
    if (!writer) {
      writer = new LineWriter(this.fileFor(key), this.queue);
      if (this.header !== undefined) writer.write(this.header);
      this.writers.set(key, writer);
    }
    return writer;
  }

  /** The writer used last in key order, for appending a final line. */
  lastWriter(): LineWriter | undefined {
    const keys = [...this.writers.keys()].sort();
    return keys.length ? this.writers.get(keys[keys.length - 1]!) : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.writers.values()].map((writer) => writer.close()));
  }
}

/** A CSV field: quoted only when it must be. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return values.map(csvField).join(',');
}

/** A JSON string literal, or null. */
export function jsonValue(value: string | null | undefined): string {
  return value === null || value === undefined ? 'null' : JSON.stringify(value);
}
