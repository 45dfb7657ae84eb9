#!/usr/bin/env node
// The `tango` command. The pipelines are TypeScript run through tsx, so there
// is no build step between editing a file and running it.
import { register } from 'tsx/esm/api';

register();
// Output piped into a reader that stops early (`tango --help | head`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../pipelines/cli.ts');
process.exitCode = await main(process.argv.slice(2));
