// Server ids, `HOST/NAME`: NAME is the server file's name without `.json`
// (`jpserver-4242`, `nbserver-4242`), qualified with `@TAG` like kernel ids when
// two runtime dirs of one host hold files of the same name.
import { KtrayError } from './errors';

export function serverId(host: string, name: string): string {
  return `${host}/${name}`;
}

/** The host and name of a server id, or a BAD_INPUT error that says what server ids look like. */
export function parseServerId(id: string): { host: string; name: string } {
  const slash = typeof id === 'string' ? id.indexOf('/') : -1;
  if (slash <= 0 || slash === id.length - 1) {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `"${id}" is not a server id.`,
      hint: 'Server ids look like HOST/jpserver-PID or HOST/nbserver-PID, as `ktray servers` prints them.',
    });
  }
  return { host: id.slice(0, slash), name: id.slice(slash + 1) };
}
