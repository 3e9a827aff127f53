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
      const missing = pos.names.slice(parsed.positionals.length, pos.min).map((n) => `<${n}>`).join(' ');
      throw new CliError('usage', `missing ${missing}`, { usage: spec.usage });
    }
    if (parsed.positionals.length > pos.max) {
      const extra = parsed.positionals[pos.max] ?? '';
      throw new CliError('usage', `unexpected argument ${JSON.stringify(extra.length > 40 ? `${extra.slice(0, 40)}…` : extra)}`, { usage: spec.usage });
    }
  }
  return { values: parsed.values, positionals: parsed.positionals, help, json };
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
