/**
 * `gastown rig add <name> <gitUrl> [options]`, `gastown rig update <rig> [options]` and
 * `gastown rig list`. A private rig's secrets (an app's key, an access token, a webhook secret)
 * come from a file, an environment variable or stdin — never argv — and are never printed.
 */
import type { Rig } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment, CommandContext } from '../context';
import { CliError } from '../errors';
import { redactUrlCredentials } from '../output/redact';
import { renderTable } from '../output/table';
import { refuseExtraPositionals, refuseSecretsOnArgv } from '../rig/argv-secrets';
import { RIG_SECRETS_NOTE, RIG_SETTING_OPTIONS, RIG_SETTINGS_HELP, rigSettingsFromFlags, type SecretSources } from '../rig/rig-flags';
import { resolveTownId } from '../town-resolution';
import { hasOwnModels, rigColumns, rigRow, rigSettingsLine, webhookUrl } from '../views/rig-table';
import { runGroup, runWith, type Command } from './command';
import { rigDeleteCommand } from './rig-delete';

/** Room for extra words, so `refuseExtraPositionals` (which never shows them) reports them. */
const ANY_POSITIONALS = 99;

const ADD = {
  usage: `usage: gastown rig add <name> <gitUrl> [--branch <branch>] [--auth <kind> …] [--merge-strategy <s>] [--town <id|name>]

Add a git repository to the town. <gitUrl>: https://, ssh://, git@host:path, file:///abs/path
or an absolute path. A private repository needs --auth: the server checks access once (it must
be able to read and push) before it stores anything, and says what to fix if it cannot.

Options:
  --branch <branch>           default branch (default: main)
${RIG_SETTINGS_HELP}
${TOWN_HELP}

${RIG_SECRETS_NOTE}

Examples:
  gastown rig add web https://github.com/acme/web.git --branch trunk
  gastown rig add api https://github.com/acme/api.git --app-id 123456 --installation-id 7890123 \\
      --private-key-file ~/keys/gastown.pem --merge-strategy pull-request --webhook-secret-env GASTOWN_WEBHOOK_SECRET
  GITLAB_TOKEN=… gastown rig add lib https://gitlab.example.com/acme/lib.git --provider gitlab \\
      --api-base-url https://gitlab.example.com/api/v4 --token-env GITLAB_TOKEN`,
  options: { ...TOWN_OPTION, branch: { type: 'string' }, ...RIG_SETTING_OPTIONS },
  positionals: { names: ['name', 'gitUrl'], min: 2, max: ANY_POSITIONALS },
} as const;

const UPDATE = {
  usage: `usage: gastown rig update <rig> [--auth <kind> …] [--merge-strategy <s>] [--provider …] [--town <id|name>]

Change how a rig authenticates or merges, or its models (<rig>: its id or name). Only what you give changes. A
new key or token is checked against the repository like at add; if the check fails nothing
changes. Replacing a GitHub App's key keeps its app and installation ids unless you give new ones.
--auth none removes the stored secret.

Options:
${RIG_SETTINGS_HELP}
${TOWN_HELP}

${RIG_SECRETS_NOTE}

Examples:
  gastown rig update api --private-key-file ~/keys/gastown-2.pem
  gastown rig update web --merge-strategy pull-request --webhook-secret-env GASTOWN_WEBHOOK_SECRET
  gastown rig update web --token-stdin < new-token.txt
  gastown rig update web --polecat-model claude-haiku-4-5 --refinery-model none`,
  options: { ...TOWN_OPTION, ...RIG_SETTING_OPTIONS },
  positionals: { names: ['rig'], min: 1, max: ANY_POSITIONALS },
} as const;

const LIST = {
  usage: `usage: gastown rig list [--town <id|name>]

List the town's rigs. AUTH: none, github-app or token with the fingerprint of the stored
secret (sha256:…, the secret itself is never shown); MERGE: direct or pull-request; WEBHOOK:
for pull-request rigs, whether a webhook secret is set (without one the town polls); MODELS
(when some rig has its own): the rig's polecat/refinery models, - where it uses the town's.

Options:
${TOWN_HELP}`,
  options: TOWN_OPTION,
};

function secretSources(sys: CliEnvironment): SecretSources {
  return { env: sys.env, cwd: sys.cwd, readStdin: () => sys.readStdin() };
}

/** After add/update of a pull-request rig: where the webhook goes, or that the town will poll. */
function webhookNote(ctx: CommandContext, rig: Rig): void {
  if (rig.mergeStrategy !== 'pull_request') return;
  const url = webhookUrl(ctx.client().baseUrl, rig);
  if (rig.provider.webhookSecretSet && url) ctx.out.note(`webhook: point the repository's webhook (pull request events) at ${url}`);
  else if (!rig.provider.webhookSecretSet) {
    ctx.out.note(
      `no webhook secret: the town polls its pull requests; for prompt updates set one with \`gastown rig update ${rig.name} --webhook-secret-env <VAR>\`${url ? ` and point the webhook at ${url}` : ''}`,
    );
  }
}

async function add(sys: CliEnvironment, argv: string[]): Promise<number> {
  refuseSecretsOnArgv(argv, ADD.usage);
  return runWith(sys, argv, ADD, async (ctx) => {
    refuseExtraPositionals(ctx.args.positionals, 2, ADD.usage);
    const [name = '', gitUrl = ''] = ctx.args.positionals;
    const branch = ctx.option('branch');
    // Secrets are read and checked before anything goes over the wire.
    const settings = await rigSettingsFromFlags(ctx.args.values, secretSources(sys));
    const { client, townId } = await ctx.townClient();
    const rig = await client.addRig(townId, { name, gitUrl, ...(branch === undefined ? {} : { defaultBranch: branch }), ...settings });
    if (ctx.json) {
      ctx.out.json({ rig });
      return 0;
    }
    ctx.out.line(`added rig ${rig.name} (${rig.id}): ${redactUrlCredentials(rig.gitUrl)} on ${rig.defaultBranch}`);
    if (rig.auth.kind !== 'none' || rig.mergeStrategy !== 'direct' || hasOwnModels(rig)) ctx.out.line(`  ${rigSettingsLine(rig)}`);
    webhookNote(ctx, rig);
    return 0;
  });
}

async function update(sys: CliEnvironment, argv: string[]): Promise<number> {
  refuseSecretsOnArgv(argv, UPDATE.usage);
  return runWith(sys, argv, UPDATE, async (ctx) => {
    refuseExtraPositionals(ctx.args.positionals, 1, UPDATE.usage);
    const [ref = ''] = ctx.args.positionals;
    const { client, townId } = await ctx.townClient();
    const rigs = await client.listRigs(townId);
    const current = rigs.find((r) => r.id === ref) ?? rigs.find((r) => r.name === ref);
    if (!current) throw new CliError('not_found', `rig ${ref} not found in town ${townId} (see \`gastown rig list\`)`);
    const patch = await rigSettingsFromFlags(ctx.args.values, secretSources(sys), current);
    if (Object.keys(patch).length === 0) {
      throw new CliError(
        'usage',
        'nothing to change: give --auth (with its options), --merge-strategy, --provider, --api-base-url, --webhook-secret-env, --polecat-model, --refinery-model, --max-polecats, --setup-command, --setup-timeout or --<role>-instructions',
        {
          usage: UPDATE.usage,
        },
      );
    }
    const rig = await client.updateRig(townId, current.id, patch);
    if (ctx.json) {
      ctx.out.json({ rig });
      return 0;
    }
    ctx.out.line(`updated rig ${rig.name} (${rig.id}): ${rigSettingsLine(rig)}`);
    webhookNote(ctx, rig);
    return 0;
  });
}

async function list(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, LIST, async (ctx) => {
    const client = ctx.client();
    const rigs = await client.listRigs(await resolveTownId(client, ctx.settings().town));
    if (ctx.json) {
      ctx.out.json({ rigs });
      return 0;
    }
    if (rigs.length === 0) {
      ctx.out.note('no rigs yet: add one with `gastown rig add <name> <gitUrl>`');
      return 0;
    }
    // The MODELS column only when some rig has its own models (most use the town's).
    const withModels = rigs.some(hasOwnModels);
    ctx.out.line(
      renderTable(
        rigColumns(withModels),
        rigs.map((r) => rigRow(r, withModels)),
        ctx.out.colour,
      ),
    );
    return 0;
  });
}

export const rigCommand: Command = {
  name: 'rig',
  summary: "add, update and list a town's git repositories",
  run: (sys, argv) =>
    runGroup(sys, argv, 'rig', [
      { name: 'add', summary: 'add a rig (a git repository, public or private)', run: add },
      { name: 'update', summary: "change a rig's authentication, merge strategy or models", run: update },
      { name: 'list', summary: "list the town's rigs", run: list },
      rigDeleteCommand,
    ]),
};
