// Node module hooks: `import text from './x.sh'` (or .py) gives the file's text,
// as esbuild's text loader does in the bundles. Registered by
// scripts/register-text.mjs wherever TypeScript runs unbundled (tsx).
import { readFile } from 'node:fs/promises';

const TEXT = /\.(sh|py)$/;

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && TEXT.test(new URL(url).pathname)) {
    const text = await readFile(new URL(url), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
