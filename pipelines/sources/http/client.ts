// A JSON-over-HTTP client for API sources: a token from the environment (a
// bearer token, or an API key as HTTP Basic's password), a timeout on every
// request, retries with exponential backoff and jitter on network errors, 5xx
// and cut-off bodies, Retry-After honoured on 429, and a clear message on
// 401/403 naming the variable that holds the token.
import { StreamError } from '../files.ts';

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  /** bearer (the default): `Authorization: Bearer <token>`; basic: the token as the password of HTTP Basic (Mailchimp's API keys). */
  auth?: 'bearer' | 'basic';
  /** The environment variable the token came from, for messages. */
  tokenEnv: string;
  timeoutMs?: number;
  maxRetries?: number;
  /** First backoff; doubled on each retry, with up to 50 % jitter. */
  retryBaseMs?: number;
  /** Longest wait accepted from a Retry-After header. */
  maxRetryAfterMs?: number;
  onRetry?: (message: string) => void;
}

export interface ApiClient {
  getJson(path: string, params: Record<string, string | number | undefined>): Promise<unknown>;
  /** POSTs a JSON body to ask for data (a search): retried like a GET, since it changes nothing. */
  postJson(path: string, body: unknown): Promise<unknown>;
  /** The URL of a request, without credentials, for messages and origins. */
  describe(path: string, params: Record<string, string | number | undefined>): string;
}

/** The server has nothing at the URL (HTTP 404): for an optional stream, no such endpoint. */
export class NotFoundError extends StreamError {
  override name = 'NotFoundError';
}

function buildUrl(baseUrl: string, path: string, params: Record<string, string | number | undefined>): URL {
  const url = new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, String(value));
  return url;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A turn-taker for at most `perSecond` calls a second (unset: no wait):
 * awaiting it before each call spaces the calls evenly. Each turn is taken
 * at once (so that calls made together queue up), and a turn whose timer
 * fires late pushes the next one back by as much: the gap between two calls
 * never shrinks below the interval.
 */
export function createRateLimiter(perSecond: number | undefined): () => Promise<void> {
  let nextStartAt = 0;
  return async () => {
    if (!perSecond) return;
    const interval = 1000 / perSecond;
    const now = Date.now();
    const startAt = Math.max(now, nextStartAt);
    nextStartAt = startAt + interval;
    if (startAt > now) await sleep(startAt - now);
    nextStartAt = Math.max(nextStartAt, Date.now() + interval);
  };
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const timeoutMs = options.timeoutMs ?? Number(process.env.TANGO_HTTP_TIMEOUT_MS ?? 30_000);
  const maxRetries = options.maxRetries ?? 5;
  const retryBaseMs = options.retryBaseMs ?? Number(process.env.TANGO_HTTP_RETRY_BASE_MS ?? 500);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  // HTTP Basic with any user name: the key is the password.
  const authorization = options.auth === 'basic' ? `Basic ${Buffer.from(`tango:${options.token}`).toString('base64')}` : `Bearer ${options.token}`;
  const describe = (path: string, params: Record<string, string | number | undefined>) => buildUrl(options.baseUrl, path, params).toString();

  const requestJson = async (url: URL, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      let wait = retryBaseMs * 2 ** attempt * (1 + Math.random() * 0.5);
      try {
        const response = await fetch(url, {
          method: body === undefined ? 'GET' : 'POST',
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.status === 401 || response.status === 403) {
          throw new StreamError(
            `${url}: the server refused the token in ${options.tokenEnv} (HTTP ${response.status}); check that it is set, valid and allowed to read this`,
          );
        }
        if (response.ok) {
          const text = await response.text();
          try {
            return JSON.parse(text) as unknown;
          } catch {
            failure = `the body is not complete JSON (${text.length} bytes)`;
          }
        } else if (response.status === 429 || response.status >= 500) {
          await response.body?.cancel().catch(() => undefined);
          failure = `HTTP ${response.status}`;
          const asked = response.status === 429 ? retryAfterMs(response.headers.get('retry-after')) : undefined;
          if (asked !== undefined) wait = Math.min(asked, maxRetryAfterMs);
        } else {
          const answer = (await response.text().catch(() => '')).slice(0, 200);
          const HttpError = response.status === 404 ? NotFoundError : StreamError;
          throw new HttpError(`${url}: HTTP ${response.status} ${response.statusText}: ${answer}`);
        }
      } catch (error) {
        if (error instanceof StreamError) throw error;
        // fetch says only "fetch failed"; why is in its cause (a code such as ECONNREFUSED, or a message).
        const cause = error as Error & { cause?: { code?: string; message?: string } };
        const why = cause.cause?.code ?? cause.cause?.message;
        failure = cause.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${cause.message}${why ? ` (${why})` : ''}`;
      }
      if (attempt >= maxRetries) throw new StreamError(`${url}: ${failure}, still after ${maxRetries} retries`);
      options.onRetry?.(`${url}: ${failure}; retry ${attempt + 1} of ${maxRetries} in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
    }
  };

  return {
    describe,
    getJson: (path, params) => requestJson(buildUrl(options.baseUrl, path, params)),
    postJson: (path, body) => requestJson(buildUrl(options.baseUrl, path, {}), body),
  };
}
