/**
 * The `gastown` command line: picks the command, runs it, and turns every failure into a message
 * on stderr (and a JSON error on stdout under --json) with the exit code of its family.
 */
import { splitCommandLine } from './args';
import { agentCommand } from './commands/agent';
import { beadCommand } from './commands/bead';
import { beadsCommand } from './commands/beads';
import { convoyCommand } from './commands/convoy';
import type { Command } from './commands/command';
import { configCommand } from './commands/config';
import { credentialsCommand } from './commands/credentials';
import { devCommand } from './commands/dev';
import { envCommand } from './commands/env';
import { escalationCommand } from './commands/escalation';
import { mayorCommand } from './commands/mayor';
import { rigCommand } from './commands/rig';
import { statusCommand } from './commands/status';
import { tokenCommand } from './commands/token';
import { townCommand } from './commands/town';
import { usageCommand } from './commands/usage';
import type { CliEnvironment } from './context';
import { CliError, EXIT_CODES } from './errors';
import { Output } from './output/output';
import { unknownWordMessage } from './suggest-command';

export const COMMANDS: readonly Command[] = [
  devCommand,
  townCommand,
  rigCommand,
  mayorCommand,
  statusCommand,
  beadsCommand,
  beadCommand,
  convoyCommand,
  usageCommand,
  agentCommand,
  escalationCommand,
  credentialsCommand,
  tokenCommand,
  configCommand,
  envCommand,
];

export const VERSION = '0.1.0';

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `gastown — command line of Gastown Cloud

usage: gastown <command> [options]
       (global options — --url, --token, --config, --town, --json — go before or after <command>)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`gastown <command> --help\` for a command's options; docs/CLI.md has examples.
Settings: --url/--token flags, else GASTOWN_URL/GASTOWN_TOKEN, else .gastown/cli.json (written
by \`npm start\`) or ~/.config/gastown/cli.json — see \`gastown config show\`.`;
}

function reportError(err: unknown, out: Output, json: boolean): number {
  if (err instanceof CliError) {
    if (json) out.jsonLine(err.toJson());
    out.note(`gastown: ${err.message}`, 'red');
    if (err.details.hint) out.note(`hint: ${err.details.hint}`);
    if (err.details.usage) out.note(`\n${err.details.usage}`);
    return err.exitCode;
  }
  // A bug: say so without a stack trace (which could hold request details).
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (json) out.jsonLine({ error: { code: 'internal', message } });
  out.note(`gastown: internal error: ${message}`, 'red');
  return EXIT_CODES.failed;
}

export async function runCli(argv: readonly string[], sys: CliEnvironment): Promise<number> {
  const out = new Output(sys.stdout, sys.stderr, sys.env);
  const json = argv.includes('--json');
  const line = splitCommandLine(argv);
  if (line.error) return reportError(line.error, out, json);
  if (line.version) {
    out.line(VERSION);
    return 0;
  }
  const { name, rest } = line;
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !topic.startsWith('-')) return runCli([topic, '--help'], sys);
    out.line(mainHelp());
    return name === undefined && !line.help ? EXIT_CODES.usage : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const message = unknownWordMessage(
      'command',
      name,
      COMMANDS.map((c) => c.name),
      '; run `gastown --help`',
    );
    return reportError(new CliError('usage', message), out, json);
  }
  try {
    return await command.run(sys, rest);
  } catch (err) {
    return reportError(err, out, json);
  }
}
