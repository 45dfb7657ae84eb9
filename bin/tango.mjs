#!/usr/bin/env node
// The `tango` command. The pipelines are TypeScript run through tsx, so there
// is no build step between editing a file and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../pipelines/cli.ts');
process.exitCode = await main(process.argv.slice(2));
