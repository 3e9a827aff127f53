/** `gastown dev`: the local stack. The work is in ../dev (runDev); this only hands over the arguments. */
import type { Command } from './command';

export const devCommand: Command = {
  name: 'dev',
  summary: 'run the local stack (worker, container host, dashboard); `npm start` runs this',
  run: (sys, argv) => sys.runDev(argv),
};
