/**
 * Hostile strings in every id, branch name and addressee of the tool routes: each → 400
 * validation_failed, nothing stored, never echoed, no crash. Free text (titles, bodies,
 * subjects) is data: hostile strings there are stored and returned byte for byte.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { callTool } from '../helpers';
import { HOSTILE_STRINGS } from '@gastown/testkit/hostile-strings';
import { expectHealthy, runRefusal, type RefusalCase } from './support';
import { agentPath, buildWorld, snapshotWorld, type World } from './world';

type Role = 'mayor' | 'polecat' | 'refinery';

interface Field {
  name: string;
  role: Role;
  tool: string;
  body: (value: string, w: World) => unknown;
}

const FIELDS: Field[] = [
  { name: 'done branch', role: 'polecat', tool: 'done', body: (v) => ({ branch: v }) },
  { name: 'done mergeRequestBeadId', role: 'refinery', tool: 'done', body: (v) => ({ branch: 'gt/polecat2/work', mergeRequestBeadId: v }) },
  { name: 'mail_send to', role: 'polecat', tool: 'mail_send', body: (v) => ({ to: v, subject: 'hi' }) },
  { name: 'sling rigId', role: 'mayor', tool: 'sling', body: (v) => ({ rigId: v, title: 'x' }) },
  { name: 'list_beads rigId', role: 'mayor', tool: 'list_beads', body: (v) => ({ rigId: v }) },
  { name: 'bead_status beadId', role: 'polecat', tool: 'bead_status', body: (v) => ({ beadId: v }) },
  { name: 'request_changes mergeRequestBeadId', role: 'refinery', tool: 'request_changes', body: (v) => ({ mergeRequestBeadId: v, feedback: 'x' }) },
];

const CASES: RefusalCase<World>[] = FIELDS.flatMap((f) =>
  HOSTILE_STRINGS.map((h): RefusalCase<World> => ({
    name: `${f.name} = ${h.name}`,
    method: 'POST',
    path: (w) => agentPath(w, f.role, `tools/${f.tool}`),
    code: 'validation_failed',
    opts: (w) => ({ token: w[f.role].token, body: f.body(h.value, w) }),
    secrets: () => [h.value],
  })),
);

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('tool routes × hostile strings', () => {
  it.each(CASES)('$name → $code, nothing stored', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('free text is data: hostile subjects and bodies are stored and returned byte for byte', async () => {
    await expectHealthy();
    const texts = HOSTILE_STRINGS.filter((h) => h.value.length <= 200).map((h) => h.value);
    for (const text of texts) {
      const sent = await callTool(w.polecat, 'mail_send', { to: 'mayor', subject: `s ${text}`, body: text });
      expect({ text, status: sent.status }).toEqual({ text, status: 200 });
    }
    const inbox = await callTool(w.mayor, 'mail_check');
    expect(inbox.status).toBe(200);
    const received = (inbox.body.mail as Array<{ subject: string; body: string }>).map((m) => [m.subject, m.body]);
    expect(received).toEqual(texts.map((t) => [`s ${t}`, t]));
  });
});
