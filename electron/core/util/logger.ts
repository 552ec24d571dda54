// One logger for the agent and the app: a line per message, with the time and
// the module it comes from (`2026-12-01T10:00:00.000Z warn [ssh] ...`), on
// stderr (the background agent's stderr is its log file). KTRAY_LOG=debug
// shows debug lines; KTRAY_LOG=silent none. Secrets never go through here.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stderr.write(line + '\n');
let threshold = ORDER[(process.env.KTRAY_LOG as LogLevel) ?? 'info'] ?? ORDER.info;

/** A logger whose lines carry `[tag]`. */
export function logger(tag: string): Logger {
  const write = (level: LogLevel, message: string) => {
    if (ORDER[level] < threshold) return;
    sink(`${new Date().toISOString()} ${level} [${tag}] ${message}`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

/** Tests and hosts that keep their own log: where lines go, and from which level. */
export function configureLogging(options: { sink?: LogSink; level?: LogLevel | 'silent' }): void {
  if (options.sink) sink = options.sink;
  if (options.level) threshold = ORDER[options.level];
}

/** The message of anything thrown, for a log line. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
