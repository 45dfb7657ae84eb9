// `npm run bench`: the benchmark is TypeScript run through tsx, like the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../bench/bench.ts');
