/** The shape of a command and the shared plumbing: parse, --help, build the context, run. */
import { GLOBAL_HELP, parseCommandArgs, type CommandSpec } from '../args';
import { CommandContext, type CliEnvironment } from '../context';
import { CliError } from '../errors';
import { unknownWordMessage } from '../suggest-command';

export interface Command {
  name: string;
  /** One line for `gastown --help`. */
  summary: string;
  run(sys: CliEnvironment, argv: string[]): Promise<number>;
}

export function helpText(spec: CommandSpec): string {
  return `${spec.usage}\n\n${GLOBAL_HELP}`;
}

/** Parse `argv` against `spec`; print help for --help; else run `body` with a context. */
export async function runWith(sys: CliEnvironment, argv: string[], spec: CommandSpec, body: (ctx: CommandContext) => Promise<number>): Promise<number> {
  const args = parseCommandArgs(argv, spec);
  const ctx = new CommandContext(sys, args);
  if (args.help) {
    ctx.out.line(helpText(spec));
    return 0;
  }
  return body(ctx);
}

export interface Subcommand {
  name: string;
  summary: string;
  run(sys: CliEnvironment, argv: string[]): Promise<number>;
}

/** `gastown town <create|list> …`: dispatch on the first word; `gastown town` alone shows the group's help. */
export async function runGroup(sys: CliEnvironment, argv: string[], group: string, subcommands: readonly Subcommand[]): Promise<number> {
  const [first, ...rest] = argv;
  const usage = `usage: gastown ${group} <${subcommands.map((s) => s.name).join('|')}> [options]\n\n${subcommands
    .map((s) => `  ${s.name.padEnd(10)} ${s.summary}`)
    .join('\n')}\n\nRun \`gastown ${group} <command> --help\` for its options.`;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === undefined) throw new CliError('usage', `missing ${group} command`, { usage });
    sys.stdout.write(`${usage}\n`);
    return 0;
  }
  const sub = subcommands.find((s) => s.name === first);
  if (!sub)
    throw new CliError(
      'usage',
      unknownWordMessage(
        `${group} command`,
        first,
        subcommands.map((s) => s.name),
      ),
      { usage },
    );
  return sub.run(sys, rest);
}
