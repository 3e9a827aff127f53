/**
 * Every gt_* tool a briefing or prompt names must be offered to the role that reads it. The plugin
 * offers exactly ROLE_TOOLS (a view of the protocol's TOOLS table, which the worker also enforces),
 * so a briefing that names any other tool sends the agent to a call that never reaches the town.
 */
import { ROLE_TOOLS, TOOL_NAMES, type AgentRole, type Bead, type Rig, RigSchema } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import {
  mailNotice,
  mayorInstructions,
  polecatBranch,
  polecatInstructions,
  polecatPrompt,
  refineryInstructions,
  refineryPrompt,
} from '../../src/town/briefings';

const rig: Rig = RigSchema.parse({
  id: 'rig_1a2b3c4d',
  townId: 'town_1a2b3c4d',
  name: 'website',
  gitUrl: 'https://example.com/website.git',
  defaultBranch: 'main',
  createdAt: 1,
});

function bead(overrides: Partial<Bead> = {}): Bead {
  return {
    id: 'bd_1a2b3c4d',
    townId: 'town_1a2b3c4d',
    rigId: rig.id,
    type: 'issue',
    status: 'in_progress',
    title: 'Add a README',
    body: 'Describe the project.',
    assigneeId: 'ag_1a2b3c4d',
    metadata: {},
    attempts: 0,
    createdAt: 1,
    updatedAt: 1,
    priority: 2,
    labels: [],
    dependsOn: [],
    ...overrides,
  };
}

const retried = bead({ metadata: { reviewFeedback: [{ feedback: 'add tests' }], mergeFailures: [{ message: 'conflict in README' }] } });
const mergeRequest = bead({
  id: 'bd_5e6f7a8b',
  type: 'merge_request',
  status: 'open',
  body: 'added it',
  metadata: { branch: polecatBranch('ag_1a2b3c4d', 'bd_1a2b3c4d') },
});

const BRIEFINGS: Array<{ name: string; role: AgentRole; text: string }> = [
  { name: 'mayor instructions', role: 'mayor', text: mayorInstructions('springfield') },
  { name: 'polecat instructions', role: 'polecat', text: polecatInstructions(rig, bead(), 'ag_1a2b3c4d') },
  { name: 'polecat prompt', role: 'polecat', text: polecatPrompt(bead(), polecatBranch('ag_1a2b3c4d', 'bd_1a2b3c4d')) },
  { name: 'polecat prompt after review and merge failure', role: 'polecat', text: polecatPrompt(retried, polecatBranch('ag_1a2b3c4d', retried.id)) },
  { name: 'refinery instructions', role: 'refinery', text: refineryInstructions(rig) },
  { name: 'refinery prompt', role: 'refinery', text: refineryPrompt(mergeRequest, bead()) },
  { name: 'refinery prompt without a source bead', role: 'refinery', text: refineryPrompt(mergeRequest, null) },
  ...(['mayor', 'polecat', 'refinery'] as const).map((role) => ({ name: `mail notice to a ${role}`, role, text: mailNotice('the mayor', 'hello', 'hi') })),
];

/** The model-facing tool names a text mentions (gt_list_beads, gt_done, …), once each. */
function toolsNamedIn(text: string): string[] {
  return [...new Set(text.match(/\bgt_[a-z_]+/g) ?? [])];
}

describe('briefings name only tools offered to their role', () => {
  it.each(BRIEFINGS)('$name ($role)', ({ role, text }) => {
    const named = toolsNamedIn(text);
    expect(named.length).toBeGreaterThan(0);
    const known = TOOL_NAMES.map((tool) => `gt_${tool}`);
    expect(
      named.filter((tool) => !known.includes(tool)),
      'tools that do not exist',
    ).toEqual([]);
    const offered = ROLE_TOOLS[role].map((tool) => `gt_${tool}`);
    expect(
      named.filter((tool) => !offered.includes(tool)),
      `tools not offered to the ${role}`,
    ).toEqual([]);
  });

  it('finds the tools a text names', () => {
    expect(toolsNamedIn('call gt_list_beads {status: "open"}, then gt_done; not gt/branch or bd_x')).toEqual(['gt_list_beads', 'gt_done']);
  });
});
