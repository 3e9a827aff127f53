/**
 * How each gt_* tool is described to the model.
 * Argument and result shapes, and which role sees which tool (ROLE_TOOLS), come from the
 * protocol's TOOLS table; this file only adds words.
 */
import type { ToolName } from '@gastown/protocol';

export interface ToolCopy {
  description: string;
  /** Per-argument descriptions shown to the model. */
  params: Record<string, string>;
}

const ID_HINT = 'an id such as';

export const TOOL_COPY: Record<ToolName, ToolCopy> = {
  sling: {
    description:
      'Create a new work item (bead) on a rig and hand it to a worker agent (polecat), which implements it on its own branch. ' +
      'Use this when the user asks for a change to a repository. Returns the created bead.',
    params: {
      rigId: `The rig (repository) to work on, ${ID_HINT} rig_1a2b3c4d; get ids from gt_list_rigs.`,
      title: 'Short imperative title of the work, e.g. "Add a --verbose flag".',
      body: 'Full description of what to do and how to know it is done.',
      model: "The model the worker runs with; only one the town allows. Leave it out for the rig's or the town's model.",
      priority: 'How urgent, 0 (most urgent) to 4 (backlog); default 2. Open work is started most urgent first, then oldest first.',
      labels: 'Labels to group and find the work by, e.g. ["frontend", "bug"]: lower-case letters, digits, ".", "_", ":" or "-".',
      dependsOn: `Beads this one must wait for, ${ID_HINT} bd_1a2b3c4d: it is started only once every one of them is closed (merged). No cycles.`,
    },
  },
  list_rigs: {
    description: 'List the rigs (git repositories) of this town with their ids, names and default branches.',
    params: {},
  },
  list_beads: {
    description: 'List beads (work items, merge requests, messages, escalations), optionally filtered by status and rig.',
    params: {
      status: 'Only beads with this status: open, in_progress, in_review, closed or failed.',
      rigId: `Only beads of this rig, ${ID_HINT} rig_1a2b3c4d.`,
    },
  },
  list_agents: {
    description: 'List the agents of this town (mayor, polecats, refineries) with their status and current bead.',
    params: {},
  },
  mail_send: {
    description: 'Send a mail message to another agent of this town, or to the mayor.',
    params: {
      to: `Recipient: "mayor" or an agent id, ${ID_HINT} ag_1a2b3c4d.`,
      subject: 'One-line subject.',
      body: 'Message text.',
    },
  },
  mail_check: {
    description: 'Read your unread mail. Messages are marked read once returned.',
    params: {},
  },
  done: {
    description:
      'Worker (polecat): report that your bead is finished — your work is committed on your own branch. The commit your branch points at ' +
      'right now is taken for review and a merge request is opened; commits made afterwards are not part of it. ' +
      'Call this once, after committing everything; then stop. Only your own branch is accepted. ' +
      'Reviewer (refinery): approve a merge request — pass its mergeRequestBeadId, its branch and the commit you reviewed; exactly that commit ' +
      'is then merged into the default branch. If the branch changed after your review the approval fails with changed_since_review: review the new commit.',
    params: {
      branch: 'The branch name (it starts with gt/), exactly as git shows it. A worker passes its own branch.',
      summary: 'What you changed and why (worker), or why you approve (reviewer).',
      mergeRequestBeadId: `Reviewer only: the merge-request bead to approve, ${ID_HINT} bd_1a2b3c4d. Workers leave it out (null).`,
      commit:
        "Reviewer only: the full 40-hex id of the commit you reviewed — the merge request's metadata.commit (shown by gt_list_beads, gt_bead_status and the review request). " +
        'Workers leave it out (null): the container records the commit of their branch.',
    },
  },
  request_changes: {
    description: 'As the reviewer, send a merge request back to its author with the changes you require instead of merging it.',
    params: {
      mergeRequestBeadId: `The merge-request bead, ${ID_HINT} bd_1a2b3c4d.`,
      feedback: 'What must change before this can be merged.',
    },
  },
  escalate: {
    description: 'Raise a problem you cannot solve yourself to the humans of this town (blocked work, missing access, unclear requirements).',
    params: {
      title: 'One-line summary of the problem.',
      body: 'Details: what you tried and what you need.',
      severity: 'How urgent: low, medium or high.',
    },
  },
  status: {
    description: 'Publish a one-line status of what you are doing right now, shown on the town dashboard.',
    params: { text: 'The status line, e.g. "running the test suite".' },
  },
  prime: {
    description: 'Load your context: who you are, your rig, the bead you are assigned (your work) and your unread mail. Call this first.',
    params: {},
  },
  bead_status: {
    description: 'Get the current state of one bead by id.',
    params: { beadId: `The bead, ${ID_HINT} bd_1a2b3c4d.` },
  },
  bead_update: {
    description:
      'Change a bead you created with gt_sling: its title, body, priority, labels or dependencies. Only what you pass changes; ' +
      'labels and dependsOn replace the whole list. A dependency that would make a cycle is refused. Returns the updated bead.',
    params: {
      beadId: `The bead to change, ${ID_HINT} bd_1a2b3c4d; only one you slung.`,
      title: 'New short imperative title.',
      body: 'New full description.',
      priority: 'New urgency, 0 (most urgent) to 4 (backlog).',
      labels: 'The new labels (replaces the current ones); [] removes them all.',
      dependsOn: 'The beads it must wait for (replaces the current list); [] removes every dependency.',
    },
  },
  sling_batch: {
    description:
      'Plan a larger piece of work as several beads at once and group them in a convoy (a named group with one goal whose progress you can follow). ' +
      'Each bead is handed to a worker like gt_sling; a bead waits for the beads in its dependsOn. All beads and the convoy are created together, ' +
      'or nothing is when one is refused. The convoy lands when every bead is closed (merged). Returns the convoy and the created beads.',
    params: {
      name: 'Short name of the convoy, e.g. "Dark mode".',
      goal: 'What the whole convoy achieves once every bead is done.',
      beads:
        `The beads, in order. Each: {rigId, title, body?, priority?, labels?, model?, dependsOn?}. dependsOn lists beads that must be closed first: ` +
        `an existing bead id (${ID_HINT} bd_1a2b3c4d) or the index (0 = first) of an earlier bead of this batch, e.g. [0, 1]. At most 20 beads.`,
    },
  },
  list_convoys: {
    description: 'List the convoys of this town with their status (open, landed, cancelled) and progress (closed of total beads).',
    params: { status: 'Only convoys with this status: open, landed or cancelled.' },
  },
  convoy_status: {
    description: 'Get one convoy with its progress and the current state of each of its beads.',
    params: { convoyId: `The convoy, ${ID_HINT} cv_1a2b3c4d; get ids from gt_list_convoys or gt_sling_batch.` },
  },
  nudge: {
    description:
      'Nudge a running agent (a polecat or a refinery): a short note it reads at its next step, without interrupting it or ' +
      'starting a new turn for it. Use it to steer work in progress; use gt_mail_send for anything longer. Fails if the agent is not running.',
    params: {
      agentId: `The agent to nudge, ${ID_HINT} ag_1a2b3c4d; get ids from gt_list_agents.`,
      text: 'What the agent should know, at most 2,000 characters.',
    },
  },
};

/** The model-facing name of a protocol tool. */
export function toolId(name: ToolName): string {
  return `gt_${name}`;
}
