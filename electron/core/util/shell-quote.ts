// Quoting for POSIX sh, used for every command line sent to a remote host.
// Single quotes keep everything literal in sh; the only character they cannot
// hold is the single quote itself, which is closed, escaped and reopened.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

function singleQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One argument as sh will read it back, byte for byte. */
export function quote(arg: string): string {
  return SAFE.test(arg) ? arg : singleQuote(arg);
}

/** A command line whose words sh splits back into exactly `args`. */
export function shellCommand(args: readonly string[]): string {
  // A bare `NAME=value` first word would be an assignment, not the command.
  return args.map((arg, i) => (i === 0 && arg.includes('=') ? singleQuote(arg) : quote(arg))).join(' ');
}
