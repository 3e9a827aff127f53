/**
 * Command-line parsing over node:util parseArgs: every command accepts the global options plus
 * its own; unknown options and wrong positional counts are usage errors (exit 2) with the
 * command's usage text.
 */
import { parseArgs } from 'node:util';
import { CliError } from './errors';

export type OptionType = { type: 'string' | 'boolean'; short?: string; multiple?: false };
export type OptionSpecs = Record<string, OptionType>;

/** Accepted by every command. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** For commands that act on one town. */
export const TOWN_OPTION = { town: { type: 'string' } } as const satisfies OptionSpecs;

export const GLOBAL_HELP = `Global options:
  --url <url>        server URL (else $GASTOWN_URL, the config file, http://127.0.0.1:8787)
  --token <token>    user token (else $GASTOWN_TOKEN, the config file)
  --config <path>    config file (else $GASTOWN_CONFIG, .gastown/cli.json in this or a parent
                     directory, ~/.config/gastown/cli.json)
  --json             machine-readable output
  -h, --help         show this help`;

export const TOWN_HELP = `  --town <id|name>   the town (else $GASTOWN_TOWN, the config file, your only town)`;

export interface CommandSpec {
  /** `gastown rig add <name> <gitUrl> [--branch <branch>]` and the lines that follow. */
  usage: string;
  options?: OptionSpecs;
  /** Names of the positionals, for messages; `min`/`max` counts. */
  positionals?: { names: readonly string[]; min: number; max: number };
}

export type ParsedValues = Record<string, string | boolean | undefined>;

export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
  help: boolean;
  json: boolean;
}

/** `Unknown option '--x'. To specify…` → `unknown option --x`. */
function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    const name = option.replace(/ <value>$/, '');
    if (message.includes('argument missing')) return `option ${name} needs a value`;
    if (message.includes('ambiguous')) return `option ${name} needs a value (write ${name}=-x for a value that starts with a dash)`;
    return `option ${name} does not take a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return 'too many arguments';
  return message.split('\n')[0] ?? 'bad arguments';
}

export function parseCommandArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  let parsed: { values: ParsedValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as { values: ParsedValues; positionals: string[] };
  } catch (err) {
    throw new CliError('usage', describeParseError(err), { usage: spec.usage });
  }
  const help = parsed.values.help === true;
  const json = parsed.values.json === true;
  const pos = spec.positionals ?? { names: [], min: 0, max: 0 };
  if (!help) {
    if (parsed.positionals.length < pos.min) {
      const missing = pos.names
        .slice(parsed.positionals.length, pos.min)
        .map((n) => `<${n}>`)
        .join(' ');
      throw new CliError('usage', `missing ${missing}`, { usage: spec.usage });
    }
    if (parsed.positionals.length > pos.max) {
      const extra = parsed.positionals[pos.max] ?? '';
      throw new CliError('usage', `unexpected argument ${JSON.stringify(extra.length > 40 ? `${extra.slice(0, 40)}…` : extra)}`, { usage: spec.usage });
    }
  }
  return { values: parsed.values, positionals: parsed.positionals, help, json };
}

/** The command line split at the command: `gastown [global options] <command> [args and options]`. */
export interface CommandLine {
  /** The first word that is not a leading global option (undefined: none). */
  name: string | undefined;
  /** What the command gets: its own arguments, then the global options written before it (ahead of a `--`). */
  rest: string[];
  /** `--help`/`-h` or `--version`/`-v` came before the command. */
  help: boolean;
  version: boolean;
  /** A leading option that is not global (`gastown --port 1 dev`): a usage error. */
  error?: CliError;
}

const LEADING_OPTIONS: OptionSpecs = { ...GLOBAL_OPTIONS, ...TOWN_OPTION };

/**
 * Accept the global options (and `--town`) before the command as well as after it:
 * `gastown --town x status` runs `status --town x`. The moved options go after the command's own
 * words, so a group (`gastown --json town list`) still sees its subcommand first; the command's
 * own parser checks them exactly as if they had been written after it.
 */
export function splitCommandLine(argv: readonly string[]): CommandLine {
  const leading: string[] = [];
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-') || token === '-' || token === '--') break;
    if (token === '-h' || token === '--help') {
      help = true;
      leading.push(token);
      continue;
    }
    if (token === '-v' || token === '--version') {
      version = true;
      continue;
    }
    const [flag, inlineValue] = token.startsWith('--') ? splitOnce(token.slice(2), '=') : [token, undefined];
    const spec = token.startsWith('--') ? LEADING_OPTIONS[flag] : undefined;
    if (!spec) {
      const error = new CliError('usage', `unknown option ${token.startsWith('--') ? `--${flag}` : token} before the command`, {
        hint: "global options (--url, --token, --config, --town, --json) go before or after the command; a command's own options after it",
      });
      return { name: undefined, rest: [], help, version, error };
    }
    leading.push(token);
    if (spec.type === 'string' && inlineValue === undefined) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) {
        const error = new CliError('usage', `option --${flag} needs a value`);
        return { name: undefined, rest: [], help, version, error };
      }
      leading.push(value);
      i++;
    }
  }
  const name = argv[i];
  const after = argv.slice(i + 1);
  const end = after.indexOf('--');
  const rest = end === -1 ? [...after, ...leading] : [...after.slice(0, end), ...leading, ...after.slice(end)];
  return { name, rest, help, version };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** `90`, `90s`, `15m`, `12h`, `30d` → seconds. */
export function parseDurationSeconds(raw: string, option: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!match) throw new CliError('usage', `${option} must be a number of seconds or a duration such as 90s, 15m, 12h, 30d`);
  const n = Number(match[1]);
  const unit = match[2] || 's';
  const factor = unit === 's' ? 1 : unit === 'm' ? 60 : unit === 'h' ? 3600 : 86_400;
  const seconds = n * factor;
  if (!Number.isSafeInteger(seconds)) throw new CliError('usage', `${option} is too large`);
  return seconds;
}
