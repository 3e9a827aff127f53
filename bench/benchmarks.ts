/** Every benchmark of `npm run bench`, in the order they run. */
import type { Benchmark } from './lib/report';
import { verifyBenchmark } from './verify/bench';

export const BENCHMARKS: Benchmark[] = [verifyBenchmark];
