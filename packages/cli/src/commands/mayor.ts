/** `gastown mayor [--new] "<message>"`: talk to the mayor and stream its reply and tool calls; --new starts a new conversation. */
import { parseDurationSeconds, TOWN_HELP, TOWN_OPTION } from '../args';
import { latestEventId } from '../client/event-cursor';
import { followEvents } from '../client/follow-events';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { MayorReplyWatcher, type ReplyEnd } from '../views/mayor-reply';
import { lacksModelProvider, noProviderHint } from '../views/no-provider';
import { describeReset } from '../views/mayor-session';
import { runWith, type Command } from './command';

export const DEFAULT_MAYOR_TIMEOUT_SECONDS = 300;

const SPEC = {
  usage: `usage: gastown mayor "<message>" [--new] [--timeout <duration>] [--no-wait] [--town <id|name>]
       gastown mayor --new

Send a message to the town's mayor, then stream its reply: text as it arrives and tool calls
(→ gt_sling {…} when called, ✓ gt_sling when done). Stops when the mayor goes idle again.
A message of - is read from stdin. The mayor's conversation is saved as it goes and survives
restarts; --new forgets it (a running mayor is stopped) before the message, if any, is sent.

Options:
  --new                 start a new conversation: delete the saved one first
  --timeout <duration>  stop waiting after this long: seconds or 90s, 15m (default: ${DEFAULT_MAYOR_TIMEOUT_SECONDS}s); exit 7
  --no-wait             send the message and return at once
${TOWN_HELP}

With --json, prints one JSON object per line: {"type":"reset","deleted":…,"stopped":…} (--new),
{"type":"posted",…}, then {"type":"event",…} for each event of the reply, then
{"type":"end","reason":"idle"}.

Examples:
  gastown mayor "add a /health endpoint to the web rig"
  gastown mayor --new "let's plan the next release"`,
  options: { ...TOWN_OPTION, new: { type: 'boolean' }, timeout: { type: 'string' }, 'no-wait': { type: 'boolean' } },
  // the message is required unless --new is given (checked in run)
  positionals: { names: ['message'], min: 0, max: 1 },
} as const;

const DELIVERY_NOTES = {
  delivered: null,
  started: 'the mayor is starting; it gets the message once it runs',
  stored: 'the mayor is not running: the message is stored and delivered when it starts',
} as const;

async function messageText(ctx: CommandContext): Promise<string> {
  const raw = ctx.args.positionals[0] ?? '';
  const text = raw === '-' ? await ctx.sys.readStdin() : raw;
  if (text.trim() === '') throw new CliError('usage', 'the message is empty');
  return text;
}

async function run(ctx: CommandContext): Promise<number> {
  const fresh = ctx.args.values.new === true;
  const timeoutRaw = ctx.option('timeout');
  const noWait = ctx.args.values['no-wait'] === true;
  if (ctx.args.positionals.length === 0) {
    if (!fresh) throw new CliError('usage', 'missing <message>', { usage: SPEC.usage });
    if (timeoutRaw !== undefined || noWait)
      throw new CliError('usage', '--timeout and --no-wait apply to a message; give one after --new', { usage: SPEC.usage });
  }
  const timeoutSeconds = timeoutRaw === undefined ? DEFAULT_MAYOR_TIMEOUT_SECONDS : parseDurationSeconds(timeoutRaw, '--timeout');
  const wait = !noWait;
  // read (and check) the message before anything is deleted
  const text = ctx.args.positionals.length > 0 ? await messageText(ctx) : null;
  const { client, townId } = await ctx.townClient();
  if (fresh) {
    const reset = await client.resetMayorSession(townId);
    if (ctx.json) ctx.out.jsonLine({ type: 'reset', ...reset });
    // alone, that is the result (stdout); before a reply, a note (stdout carries only the reply)
    else if (text === null) ctx.out.line(describeReset(reset));
    else ctx.out.note(describeReset(reset));
  }
  if (text === null) return 0;
  // The cursor is taken before posting, so every event of the reply is after it.
  const cursor = wait ? await latestEventId((after, limit) => client.listEvents(townId, after, limit)) : 0;
  const posted = await client.postMayorMessage(townId, text).catch(async (err: unknown) => {
    throw await explainNoProvider(err, ctx, townId);
  });
  if (ctx.json) ctx.out.jsonLine({ type: 'posted', ...posted });
  if (posted.delivery === 'failed') {
    throw new CliError('failed', `delivering the message to the mayor failed; it is stored (message ${posted.message.id}); see \`gastown status\``);
  }
  const note = DELIVERY_NOTES[posted.delivery];
  if (!wait) {
    if (!ctx.json) ctx.out.line(`sent message ${posted.message.id} to the mayor (${posted.delivery})`);
    return 0;
  }
  if (note && !ctx.json) ctx.out.note(note, 'yellow');

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutSeconds * 1000);
  const signal = AbortSignal.any([ctx.sys.signal, timeout.signal]);
  const watcher = new MayorReplyWatcher(posted.mayor.id, posted.message.id);
  let end: ReplyEnd | null = null;
  try {
    for await (const event of followEvents((after, s) => client.streamEvents(townId, after, s), cursor, signal, { clock: ctx.sys.clock })) {
      const step = watcher.accept(event);
      if (ctx.json) {
        if (step.relevant) ctx.out.jsonLine({ type: 'event', event });
      } else {
        for (const line of step.lines) {
          if (line.stream === 'out') ctx.out.line(ctx.out.paint(line.text, line.colour));
          else ctx.out.note(line.text, line.colour);
        }
      }
      if (step.end) {
        end = step.end;
        break;
      }
    }
  } catch (err) {
    // An abort (timeout or Ctrl-C) may surface as an error of the request in flight.
    if (!signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  if (end === null) {
    if (ctx.sys.signal.aborted) throw new CliError('interrupted', 'interrupted');
    if (timeout.signal.aborted) {
      throw new CliError('timeout', `no end of the mayor's reply within ${timeoutSeconds} s (it may still be working: see \`gastown status\`)`);
    }
    throw new CliError('failed', 'the event stream ended');
  }
  if (ctx.json) ctx.out.jsonLine({ type: 'end', ...end });
  if (end.reason !== 'idle') throw new CliError('failed', end.message);
  return 0;
}

/**
 * A refused message (409) to a town with no model provider (or no default model): say so naming
 * the town, with the commands that set one up and the dashboard's Settings tab as the hint.
 */
async function explainNoProvider(err: unknown, ctx: CommandContext, townId: string): Promise<unknown> {
  if (!(err instanceof CliError) || err.code !== 'conflict') return err;
  const town = await ctx
    .client()
    .getTown(townId)
    .catch(() => null);
  if (town === null || !lacksModelProvider(town)) return err;
  const message = town.config.provider
    ? `configure the town models first: town ${town.name} (${town.id}) has no default model`
    : `configure a model provider first: town ${town.name} (${town.id}) has none, so no agent can run`;
  return new CliError('conflict', message, { ...err.details, hint: noProviderHint(town) }, { cause: err });
}

export const mayorCommand: Command = {
  name: 'mayor',
  summary: 'talk to the mayor and stream its reply',
  run: (sys, argv) => runWith(sys, argv, SPEC, run),
};
