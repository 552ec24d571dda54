import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Host scripts (*.sh, *.py) import as their text, as in the esbuild bundles. */
const textFiles: Plugin = {
  name: 'ktray-text-files',
  enforce: 'pre',
  load(id) {
    const file = id.split('?')[0]!;
    return /\.(sh|py)$/.test(file) ? `export default ${JSON.stringify(readFileSync(file, 'utf8'))};` : null;
  },
};

export default defineConfig({
  plugins: [textFiles],
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['electron/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}', 'bench/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['electron/main/**'],
          testTimeout: 60_000,
        },
      },
      {
        // The Electron adapter layer, and only it, runs against the one Electron stub.
        extends: true,
        resolve: { alias: { electron: here('./electron/main/test/electron-stub.ts') } },
        test: {
          name: 'electron',
          include: ['electron/main/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // Real sshd, real ipykernel, real Jupyter clients, real Chromium: one file at a time.
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
