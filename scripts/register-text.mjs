// `node --import tsx --import ./scripts/register-text.mjs FILE.ts`: see text-hooks.mjs.
import { register } from 'node:module';

register('./text-hooks.mjs', import.meta.url);
