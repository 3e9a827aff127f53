/** Time source, injected wherever time matters. Milliseconds since the epoch. */
export type Clock = { now(): number };
/** Uniform random number in [0, 1), injected wherever jitter matters. */
export type RandomSource = () => number;

export const systemClock: Clock = { now: () => Date.now() };
export const mathRandom: RandomSource = () => Math.random();
