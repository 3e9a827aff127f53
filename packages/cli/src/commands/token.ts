/** `gastown token create <userId> [--ttl 30d]`: mint a user token with the admin secret. */
import { parseDurationSeconds } from '../args';
import { writeConfigFile } from '../config/config-file';
import type { CliEnvironment } from '../context';
import { CliError, usageError } from '../errors';
import { formatTimestamp } from '../output/time';
import { runGroup, runWith, type Command } from './command';

const CREATE = {
  usage: `usage: gastown token create <userId> [--ttl <duration>] [--admin-secret <secret>] [--save]
       gastown token create --user <userId> …

Mint a user token (admin). Prints only the token on stdout, so TOKEN=$(gastown token create alice)
works. The admin secret comes from --admin-secret, else $GASTOWN_ADMIN_SECRET, else the config
file (adminSecret), else the local stack's files (.gastown/dev.json or packages/worker/.dev.vars).

Options:
  --user <userId>          the user (instead of the positional argument)
  --ttl <duration>         lifetime: seconds or 90s, 15m, 12h, 30d (default: the server's, 30 days)
  --admin-secret <secret>  the server's GASTOWN_ADMIN_SECRET
  --save                   also store the token in the config file (\`gastown config show\` says which)

Example:
  gastown token create alice --ttl 7d`,
  options: { ttl: { type: 'string' }, 'admin-secret': { type: 'string' }, save: { type: 'boolean' }, user: { type: 'string' } },
  positionals: { names: ['userId'], min: 0, max: 1 },
} as const;

async function create(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, CREATE, async (ctx) => {
    const positional = ctx.args.positionals[0];
    const flag = ctx.option('user');
    if (positional !== undefined && flag !== undefined) throw usageError('give the user once: <userId> or --user', CREATE.usage);
    const userId = positional ?? flag;
    if (userId === undefined) throw usageError('missing <userId>', CREATE.usage);
    const ttl = ctx.option('ttl');
    const ttlSeconds = ttl === undefined ? undefined : parseDurationSeconds(ttl, '--ttl');
    const secret = ctx.settings().adminSecret.value;
    if (secret === null) {
      throw new CliError('token_missing', 'no admin secret', {
        hint: 'pass --admin-secret, set GASTOWN_ADMIN_SECRET, or run it inside the repo after `npm start` (the local stack writes its secret to gitignored files)',
      });
    }
    const minted = await ctx.client().createUserToken(secret, userId, ttlSeconds);
    if (ctx.args.values.save === true) {
      const location = ctx.configLocation();
      writeConfigFile(location.path, { ...ctx.configFile(), token: minted.token });
      ctx.out.note(`saved the token in ${location.path}`);
    }
    if (ctx.json) ctx.out.json(minted);
    else {
      ctx.out.line(minted.token);
      ctx.out.note(`token for ${minted.userId}, expires ${formatTimestamp(minted.expiresAt)}`);
    }
    return 0;
  });
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'mint user tokens (admin)',
  run: (sys, argv) => runGroup(sys, argv, 'token', [{ name: 'create', summary: 'mint a user token', run: create }]),
};
