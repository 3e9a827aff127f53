/** `gastown escalation list|ack|resolve`: the town's escalations, and the owner's answers to them. */
import { escalationState, EscalationSeveritySchema, EscalationStateSchema, type Bead } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { CliError } from '../errors';
import { renderTable } from '../output/table';
import { runGroup, runWith, type Command } from './command';

const MAX_TITLE = 60;

const LIST = {
  usage: `usage: gastown escalation list [--state open|acknowledged|resolved] [--severity low|medium|high] [--rig <rigId>] [--town <id|name>] [--json]

The town's escalations (agents' gt_escalate, beads that used up their attempts, spend and key
warnings), oldest first. Without --state: all of them.

Options:
${TOWN_HELP}
  --state <s>        open (not yet acknowledged), acknowledged, or resolved
  --severity <s>     low, medium or high
  --rig <rigId>      only this rig's

Example:
  gastown escalation list --state open`,
  options: { ...TOWN_OPTION, state: { type: 'string' }, severity: { type: 'string' }, rig: { type: 'string' } },
} as const;

const ACK = {
  usage: `usage: gastown escalation ack <beadId> [--note <text>] [--town <id|name>] [--json]

Acknowledge an escalation: it stays open, marked as seen by you (with the note). Idempotent.

Example:
  gastown escalation ack bd_1a2b3c4d5e --note "looking into it"`,
  options: { ...TOWN_OPTION, note: { type: 'string' } },
  positionals: { names: ['beadId'], min: 1, max: 1 },
} as const;

const RESOLVE = {
  usage: `usage: gastown escalation resolve <beadId> [--resolution <text>] [--town <id|name>] [--json]

Resolve an escalation: it is closed (with the resolution). Idempotent.

Example:
  gastown escalation resolve bd_1a2b3c4d5e --resolution "key rotated"`,
  options: { ...TOWN_OPTION, resolution: { type: 'string' } },
  positionals: { names: ['beadId'], min: 1, max: 1 },
} as const;

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], usage: string): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError('usage', `--${name} must be one of ${allowed.join(', ')}`, { usage });
}

async function list(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, LIST, async (ctx) => {
    const state = oneOf('state', ctx.option('state'), EscalationStateSchema.options, LIST.usage);
    const severity = oneOf('severity', ctx.option('severity'), EscalationSeveritySchema.options, LIST.usage);
    const rigId = ctx.option('rig');
    const { client, townId } = await ctx.townClient();
    const escalations: Bead[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listEscalations(townId, { state, severity, rigId, limit: 100, cursor });
      escalations.push(...page.escalations);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    if (ctx.json) {
      ctx.out.json({ escalations });
      return 0;
    }
    if (escalations.length === 0) {
      ctx.out.note(state ? `no ${state} escalations` : 'no escalations');
      return 0;
    }
    const rows = escalations.map((e) => {
      const s = escalationState(e);
      const severityText = typeof e.metadata.severity === 'string' ? e.metadata.severity : '-';
      return [
        e.id,
        { text: s, colour: s === 'open' ? ('red' as const) : null },
        severityText,
        e.rigId ?? '-',
        e.title.length > MAX_TITLE ? `${e.title.slice(0, MAX_TITLE - 1)}…` : e.title,
      ];
    });
    ctx.out.line(renderTable([{ header: 'ID' }, { header: 'STATE' }, { header: 'SEVERITY' }, { header: 'RIG' }, { header: 'TITLE' }], rows, ctx.out.colour));
    return 0;
  });
}

async function ack(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, ACK, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const escalation = await client.acknowledgeEscalation(townId, ctx.args.positionals[0] ?? '', ctx.option('note'));
    if (ctx.json) ctx.out.json({ escalation });
    else ctx.out.line(`acknowledged escalation ${escalation.id}: ${escalation.title}`);
    return 0;
  });
}

async function resolve(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, RESOLVE, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const escalation = await client.resolveEscalation(townId, ctx.args.positionals[0] ?? '', ctx.option('resolution'));
    if (ctx.json) ctx.out.json({ escalation });
    else ctx.out.line(`resolved escalation ${escalation.id}: ${escalation.title}`);
    return 0;
  });
}

export const escalationCommand: Command = {
  name: 'escalation',
  summary: 'list, acknowledge and resolve escalations',
  run: (sys, argv) =>
    runGroup(sys, argv, 'escalation', [
      { name: 'list', summary: "list the town's escalations", run: list },
      { name: 'ack', summary: 'acknowledge an escalation (it stays open)', run: ack },
      { name: 'resolve', summary: 'resolve an escalation (closed)', run: resolve },
    ]),
};
