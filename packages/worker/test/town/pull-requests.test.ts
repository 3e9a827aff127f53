import type { Bead, TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signGitHubBody } from '../../src/git-host';
import { call, expectError, snapshotTown } from '../helpers';
import { mergeResult, townEvents } from '../support/agent-calls';
import { runAlarm, withTownSql } from '../support/fake-container';
import {
  beadById,
  MERGE_COMMIT,
  POLECAT_COMMIT,
  privateRig,
  privateTown,
  pushApprovedWork,
  REPO,
  WEBHOOK_SECRET,
  type PrivateTown,
} from '../support/private-rig';

afterEach(() => {
  vi.useRealTimers();
});

let deliveries = 0;
function webhookBody(number: number, merged: boolean, action = 'closed'): string {
  return JSON.stringify({
    action,
    number,
    pull_request: {
      number,
      state: 'closed',
      merged,
      merge_commit_sha: merged ? 'c'.repeat(40) : null,
      html_url: `http://127.0.0.1:9801/${REPO}/pull/${number}`,
    },
    repository: { full_name: REPO },
  });
}

async function deliver(
  t: PrivateTown,
  rigId: string,
  body: string,
  options: { secret?: string | null; delivery?: string; event?: string; path?: string; signature?: string } = {},
) {
  const delivery = options.delivery ?? `d-${++deliveries}-${Math.random()}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': options.event ?? 'pull_request',
    'x-github-delivery': delivery,
  };
  const secret = options.secret === undefined ? WEBHOOK_SECRET : options.secret;
  if (options.signature !== undefined) headers['x-hub-signature-256'] = options.signature;
  else if (secret !== null) headers['x-hub-signature-256'] = await signGitHubBody(secret, body);
  const res = await call('POST', options.path ?? `/webhooks/github/towns/${t.town.id}/rigs/${rigId}`, { rawBody: body, headers });
  return { res, delivery, headers };
}

function eventsOf(events: TownEvent[], type: string): TownEvent[] {
  return events.filter((e) => e.type === type);
}

describe('pull-request strategy: the town opens the pull request after the push and follows it', () => {
  it('`pushed` → the pull request is opened from the bead and recorded on both beads; the merge request waits in progress', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    const { bead, mr, branch, pushed, refinery } = await pushApprovedWork(t, rig, 'Add a README');
    expect(t.fake.of('merge').at(-1)!.req).toMatchObject({ strategy: 'pull_request', commit: POLECAT_COMMIT, rig: { id: rig.id, auth: 'github_app' } });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);

    expect(t.host.pulls).toHaveLength(1);
    const pull = t.host.pulls[0]!;
    expect(pull).toMatchObject({ head: branch, base: 'main', title: 'Add a README', state: 'open' });
    expect(pull.body).toContain('Write the README for the widgets.');
    expect(pull.body).toContain(`Bead ${bead.id}, branch ${branch}, commit ${POLECAT_COMMIT}`);

    const ref = { provider: 'github', number: 1, url: `http://127.0.0.1:9801/${REPO}/pull/1`, state: 'open', commit: POLECAT_COMMIT };
    expect(pushed.body.mergeRequest).toMatchObject({
      id: mr.id,
      status: 'in_progress',
      assigneeId: null,
      metadata: expect.objectContaining({ pullRequest: expect.objectContaining(ref) }),
    });
    expect(await beadById(t, bead.id)).toMatchObject({ status: 'in_review', metadata: expect.objectContaining({ pullRequest: expect.objectContaining(ref) }) });
    expect(eventsOf(await townEvents(t), 'pull_request.opened')).toEqual([
      expect.objectContaining({ beadId: mr.id, data: expect.objectContaining({ url: ref.url, number: 1 }) }),
    ]);

    // the report again: nothing more; the alarm neither requeues the merge request nor opens a second pull request
    expect((await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome: 'pushed', commitSha: POLECAT_COMMIT })).status).toBe(200);
    await runAlarm(t.town.id);
    expect(t.host.pulls).toHaveLength(1);
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'in_progress' });
    // no secret or token in anything the API shows
    const shown = JSON.stringify([await townEvents(t), (await call('GET', `/api/towns/${t.town.id}/beads?limit=500`, { token: t.userToken })).body]);
    for (const s of [...t.host.issuedTokens(), WEBHOOK_SECRET, t.host.privateKeyPem.split('\n')[1]!]) expect(shown).not.toContain(s);
  });

  it('a pull request that cannot be opened is escalated once and opened by the alarm after a backoff', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    t.host.pullCreateStatus = 502;
    const { mr, pushed } = await pushApprovedWork(t, rig);
    expect(pushed.status).toBe(200);
    const waiting = await beadById(t, mr.id);
    expect(waiting).toMatchObject({ status: 'in_progress', metadata: expect.objectContaining({ pullRequestPending: true, pullRequestOpenAttempts: 1 }) });
    const retryAt = waiting.metadata.pullRequestRetryAt as number;
    expect(retryAt).toBeGreaterThan(Date.now());
    const escalations = async () =>
      (await call('GET', `/api/towns/${t.town.id}/beads?limit=500`, { token: t.userToken })).body.beads.filter((b: Bead) => b.type === 'escalation');
    expect(await escalations()).toEqual([
      expect.objectContaining({ title: expect.stringContaining('Pull request not opened'), metadata: expect.objectContaining({ relatedBeadId: mr.id }) }),
    ]);
    // a second failure is not escalated again
    vi.setSystemTime(retryAt + 1);
    await runAlarm(t.town.id);
    expect((await beadById(t, mr.id)).metadata.pullRequestOpenAttempts).toBe(2);
    expect(await escalations()).toHaveLength(1);
    // the host answers again: opened
    t.host.pullCreateStatus = null;
    vi.setSystemTime(((await beadById(t, mr.id)).metadata.pullRequestRetryAt as number) + 1);
    await runAlarm(t.town.id);
    expect(t.host.pulls).toHaveLength(1);
    expect((await beadById(t, mr.id)).metadata.pullRequest).toMatchObject({ number: 1, state: 'open' });
  });

  it('webhook: a missing or wrong signature is 401 and changes nothing; an unknown town or rig is 404', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    await pushApprovedWork(t, rig);
    const body = webhookBody(1, true);
    const before = await snapshotTown(t.town.id);
    const cases = [
      { name: 'no signature', options: { secret: null } },
      { name: 'another secret', options: { secret: 'not-the-webhook-secret-000' } },
      { name: 'garbage', options: { signature: 'sha256=zz' } },
      { name: 'signature of another body', options: { signature: await signGitHubBody(WEBHOOK_SECRET, webhookBody(1, false)) } },
    ];
    for (const c of cases) {
      const { res } = await deliver(t, rig.id, body, c.options);
      expect({ name: c.name, status: res.status, code: res.body?.error?.code }).toEqual({ name: c.name, status: 401, code: 'webhook_unauthorized' });
    }
    expect(await snapshotTown(t.town.id)).toEqual(before);
    expectError((await deliver(t, 'rig_unknown0000', body)).res, 404, 'not_found');
    expectError((await deliver(t, rig.id, body, { path: `/webhooks/github/towns/town_unknown00000/rigs/${rig.id}` })).res, 404, 'not_found');
    expectError((await deliver(t, rig.id, body, { path: `/webhooks/gitlab/towns/${t.town.id}/rigs/${rig.id}` })).res, 404, 'not_found');
    expectError((await deliver(t, rig.id, body, { path: `/webhooks/bitbucket/towns/${t.town.id}/rigs/${rig.id}` })).res, 404, 'not_found');
    expect(await snapshotTown(t.town.id)).toEqual(before);

    // a rig without a webhook secret cannot be delivered to
    const bare = await privateRig(t, { webhookSecret: null });
    expectError((await deliver(t, bare.id, body)).res, 401, 'webhook_unauthorized');
  });

  it('webhook: merged → the merge request and its source bead close; a replayed delivery changes nothing twice; other events are acknowledged', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    const { mr, bead } = await pushApprovedWork(t, rig);
    const ping = await deliver(t, rig.id, JSON.stringify({ zen: 'hi', hook_id: 1 }), { event: 'ping' });
    expect(ping.res.body).toEqual({ outcome: 'ignored', mergeRequestBeadId: null });
    const opened = await deliver(t, rig.id, webhookBody(1, false, 'synchronize'));
    expect(opened.res.body.outcome).toBe('ignored');

    t.host.merge(1);
    const first = await deliver(t, rig.id, webhookBody(1, true));
    expect(first.res.status, JSON.stringify(first.res.body)).toBe(200);
    expect(first.res.body).toEqual({ outcome: 'merged', mergeRequestBeadId: mr.id });
    expect(await beadById(t, mr.id)).toMatchObject({
      status: 'closed',
      metadata: expect.objectContaining({ resolution: 'merged', commitSha: 'c'.repeat(40), pullRequest: expect.objectContaining({ state: 'merged' }) }),
    });
    expect(await beadById(t, bead.id)).toMatchObject({
      status: 'closed',
      metadata: expect.objectContaining({ pullRequest: expect.objectContaining({ state: 'merged' }) }),
    });
    expect(eventsOf(await townEvents(t), 'pull_request.merged')).toEqual([
      expect.objectContaining({ beadId: mr.id, data: expect.objectContaining({ number: 1, via: 'webhook', sourceBeadId: bead.id }) }),
    ]);

    const after = await snapshotTown(t.town.id);
    const replay = await call('POST', `/webhooks/github/towns/${t.town.id}/rigs/${rig.id}`, { rawBody: webhookBody(1, true), headers: first.headers });
    expect(replay.body).toEqual({ outcome: 'duplicate', mergeRequestBeadId: null });
    expect(await snapshotTown(t.town.id)).toEqual(after);
    // the same change under a new delivery id: settled already, nothing moves
    const again = await deliver(t, rig.id, webhookBody(1, true));
    expect(again.res.body.outcome).toBe('ignored');
    expect(eventsOf(await townEvents(t), 'pull_request.merged')).toHaveLength(1);
  });

  it('webhook: closed without merging → the source bead is open again (an attempt spent, the closure as review feedback), the merge request closed', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    const { mr, bead } = await pushApprovedWork(t, rig);
    t.host.close(1);
    const { res } = await deliver(t, rig.id, webhookBody(1, false));
    expect(res.body).toEqual({ outcome: 'closed', mergeRequestBeadId: mr.id });
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'closed', metadata: expect.objectContaining({ resolution: 'pull_request_closed' }) });
    const source = await beadById(t, bead.id);
    expect(source).toMatchObject({ status: 'open', attempts: bead.attempts + 1, assigneeId: null });
    expect(source.metadata.reviewFeedback).toEqual([expect.objectContaining({ from: 'pull_request', feedback: 'pull request #1 closed without merging' })]);
    expect(eventsOf(await townEvents(t), 'pull_request.closed')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ number: 1, sourceStatus: 'open' }) }),
    ]);
  });

  it('closed without merging at the attempt cap → the source bead fails and is escalated', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    const { bead } = await pushApprovedWork(t, rig);
    await withTownSql(t.town.id, (sql) => sql.exec('UPDATE beads SET attempts = 2 WHERE id = ?', bead.id));
    t.host.close(1);
    expect((await deliver(t, rig.id, webhookBody(1, false))).res.body.outcome).toBe('closed');
    expect(await beadById(t, bead.id)).toMatchObject({ status: 'failed', attempts: 3 });
    const beads = (await call('GET', `/api/towns/${t.town.id}/beads?limit=500`, { token: t.userToken })).body.beads as Bead[];
    expect(beads.filter((b) => b.type === 'escalation' && b.metadata.relatedBeadId === bead.id)).toHaveLength(1);
  });

  it('polling without a webhook: the alarm asks every GASTOWN_PR_POLL_SECONDS (60) and applies the same transition; a late webhook changes nothing', async () => {
    const t = await privateTown();
    const rig = await privateRig(t);
    const { mr, bead } = await pushApprovedWork(t, rig);
    const polls = () => t.host.of('GET', /\/pulls\/1$/).length;
    const openedAt = (await beadById(t, mr.id)).metadata.pullRequestPolledAt as number;
    expect(t.alarms.at).not.toBeNull();
    expect(t.alarms.at!).toBeLessThanOrEqual(openedAt + 60_000);
    await runAlarm(t.town.id);
    expect(polls()).toBe(0); // not due yet
    vi.setSystemTime(openedAt + 60_001);
    await runAlarm(t.town.id);
    expect(polls()).toBe(1);
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'in_progress' });

    t.host.merge(1);
    vi.setSystemTime(openedAt + 2 * 60_000 + 2);
    await runAlarm(t.town.id);
    expect(polls()).toBe(2);
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'closed', metadata: expect.objectContaining({ resolution: 'merged' }) });
    expect(await beadById(t, bead.id)).toMatchObject({ status: 'closed' });
    expect(eventsOf(await townEvents(t), 'pull_request.merged')).toEqual([expect.objectContaining({ data: expect.objectContaining({ via: 'poll' }) })]);
    // settled: no more polling
    vi.setSystemTime(openedAt + 10 * 60_000);
    await runAlarm(t.town.id);
    expect(polls()).toBe(2);
    // the webhook arrives late: nothing moves twice
    const late = await deliver(t, rig.id, webhookBody(1, true));
    expect(late.res.body.outcome).toBe('ignored');
    expect(eventsOf(await townEvents(t), 'pull_request.merged')).toHaveLength(1);
  });

  it('polling: closed without merging → the same reopening as by webhook', async () => {
    const t = await privateTown();
    const rig = await privateRig(t, { webhookSecret: null });
    const { mr, bead } = await pushApprovedWork(t, rig);
    t.host.close(1);
    vi.setSystemTime(((await beadById(t, mr.id)).metadata.pullRequestPolledAt as number) + 60_001);
    await runAlarm(t.town.id);
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'closed' });
    expect(await beadById(t, bead.id)).toMatchObject({ status: 'open', attempts: bead.attempts + 1 });
  });

  it('direct strategy (a private rig too) is unchanged: the container merges, `merged` closes both beads, no pull request', async () => {
    const t = await privateTown();
    const rig = await privateRig(t, { auth: 'token', mergeStrategy: 'direct' });
    const { mr, bead, pushed } = await pushApprovedWork(t, rig, 'direct work', 'merged');
    expect(t.fake.of('merge').at(-1)!.req).toMatchObject({ strategy: 'direct', rig: { id: rig.id, auth: 'token' } });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    expect(await beadById(t, mr.id)).toMatchObject({ status: 'closed', metadata: expect.objectContaining({ resolution: 'merged', commitSha: MERGE_COMMIT }) });
    expect(await beadById(t, bead.id)).toMatchObject({ status: 'closed' });
    expect((await beadById(t, mr.id)).metadata.pullRequest).toBeUndefined();
    expect(t.host.of('POST', /\/pulls$/)).toEqual([]);
    expect(eventsOf(await townEvents(t), 'merge_request.merged')).toHaveLength(1);
  });
});
