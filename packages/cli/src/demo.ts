/** `npm run demo` entry: see demo/run-demo.ts. */
import { runDemo } from './demo/run-demo';

process.exitCode = await runDemo(process.argv.slice(2));
