#!/usr/bin/env node
// Entry of `npx seedscope`: loads the TypeScript CLI through tsx in this process.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../core/cli/main.ts');
process.exitCode = await runCli(process.argv);
