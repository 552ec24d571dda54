// Kernel ids, `HOST/NAME`: the one place that builds and reads them. NAME is the
// connection file's name without `kernel-` and `.json`, qualified with `@TAG`
// when two runtime dirs of one host hold files of the same name.
import { KtrayError } from './errors';

export interface KernelIdParts {
  host: string;
  name: string;
}

export function kernelId(host: string, name: string): string {
  return `${host}/${name}`;
}

/** The host and name of an id, or a BAD_INPUT error that says what ids look like. */
export function parseKernelId(id: string): KernelIdParts {
  const slash = typeof id === 'string' ? id.indexOf('/') : -1;
  if (slash <= 0 || slash === id.length - 1) {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `"${id}" is not a kernel id.`,
      hint: 'Kernel ids look like HOST/KERNEL, as `ktray ls` prints them.',
    });
  }
  return { host: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** The host part of an id already known to be well formed (events, records). */
export function hostOfKernel(id: string): string {
  return parseKernelId(id).host;
}
