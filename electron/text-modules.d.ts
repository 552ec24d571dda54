// Scripts that run on hosts are real files (scripts/*.sh, *.py), imported as
// their text: esbuild's text loader in the bundles, scripts/text-hooks.mjs under
// tsx, a plugin in vitest.config.ts.
declare module '*.sh' {
  const text: string;
  export default text;
}
declare module '*.py' {
  const text: string;
  export default text;
}
