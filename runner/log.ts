// The runner's log: short human lines on stderr, or one JSON object per line with --json, so
// cloud-init logs stay readable and a log shipper can still parse them.
export type LogLevel = 'info' | 'warn' | 'error' | 'debug';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  json: boolean;
  debug?: boolean;
  /** Where lines go; stderr by default. Tests and `benchfleet local` pass their own sink. */
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions, base: LogFields = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (level === 'debug' && !opts.debug) return;
    const all = { ...base, ...fields };
    if (opts.json) {
      write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...all }));
      return;
    }
    const prefix = all.slot !== undefined ? `runner[${all.slot}]` : 'runner';
    const extra = Object.entries(all)
      .filter(([k, v]) => k !== 'slot' && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    write(`${prefix} ${level === 'info' ? '' : `${level}: `}${msg}${extra ? ` (${extra})` : ''}`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    debug: (m, f) => emit('debug', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** An error's message. Duck-typed: Node's own errors (a socket's) can come from another realm than `Error`'s. */
export const errorText = (err: unknown): string => {
  if (err instanceof Error) return err.message;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
};

/** What goes into a network error's text at most: a cause chain is short, but an odd one is not kept whole. */
const NETWORK_TEXT_MAX = 300;

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
};

const errorsOf = (e: unknown): unknown[] => {
  const errors = (e as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors : [];
};

/** An error's own message; an AggregateError (one try per address) has none, so its errors' are joined. */
const ownMessage = (e: unknown): string => {
  const own = errorText(e).trim();
  return own === '' ? [...new Set(errorsOf(e).map(ownMessage))].join(', ') : own;
};

/** A cause as `CODE detail`: `ECONNREFUSED 127.0.0.1:1999`, `DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate`, `bad port`. */
function causeText(c: unknown, depth: number): string {
  const errors = errorsOf(c);
  if (errorText(c).trim() === '' && errors.length > 0)
    return [...new Set(errors.map((x) => causeText(x, depth + 1)))].join(', ');
  const code = codeOf(c);
  const msg = ownMessage(c);
  let text = !code ? msg : msg.includes(code) ? msg.slice(msg.indexOf(code)) : msg ? `${code}: ${msg}` : code;
  const deeper = (c as { cause?: unknown } | null)?.cause;
  if (deeper !== undefined && depth < 3) text += ` (${causeText(deeper, depth + 1)})`;
  return text;
}

/**
 * A network error with what really went wrong: fetch's `fetch failed` keeps it in `err.cause`, and
 * a socket error keeps its code apart from its message. `fetch failed (ECONNREFUSED 127.0.0.1:1999)`,
 * `socket hang up (ECONNRESET)`, `fetch failed (ENOTFOUND api.example)`, `fetch failed (bad port)`.
 */
export function networkErrorText(err: unknown): string {
  const top = ownMessage(err);
  const parts: string[] = [];
  const code = codeOf(err);
  if (code && !top.includes(code)) parts.push(code);
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause !== undefined) parts.push(causeText(cause, 1));
  const text = parts.length > 0 ? `${top || 'network error'} (${parts.join('; ')})` : top;
  return text.length > NETWORK_TEXT_MAX ? `${text.slice(0, NETWORK_TEXT_MAX - 1)}…` : text;
}
