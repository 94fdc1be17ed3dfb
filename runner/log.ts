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

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
