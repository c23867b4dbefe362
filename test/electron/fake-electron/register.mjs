// Maps the `electron` import of the built main bundle to the recording fake in electron.mjs.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
