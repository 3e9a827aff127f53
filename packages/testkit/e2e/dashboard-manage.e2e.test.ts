/**
 * Managing a town from the dashboard, in a real browser (Debian chromium via playwright-core)
 * against the whole local stack, every change seen live from the event stream (no reload):
 *
 * - a town without a model provider: the "no model provider" banner and its Settings link; create
 *   a bead (rig, title, body, priority, labels), create a second one that depends on it, edit it;
 *   a convoy of both, whose progress moves as the beads are closed, until it lands; delete a bead.
 * - a town on the scripted fake LLM: a bead whose polecats give up fails after its attempts, with
 *   its failure reason on the card in full; its escalation is acknowledged; the agents table, with
 *   the ended runs collapsed, fits a 1,280 × 800 window (no horizontal overflow); Requeue gives the
 *   bead fresh attempts; its polecat is nudged and restarted while it works, and the bead is
 *   merged; finally the rig is deleted.
 *
 * Screenshots at 1,280 × 800 go to test-output/dashboard-manage/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent, Bead, Convoy } from '@gastown/protocol';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Turn } from '../src/fake-llm/index';
import { reply } from '../src/fake-llm/index';
import { REPO_ROOT, roleOf, type PolecatGate } from '../src/stack/index';
import { launchChromium } from './dashboard/browser';
import { E2E_USER, startHarness, waitFor, type Harness } from './support/harness';

const OUT_DIR = join(REPO_ROOT, 'test-output', 'dashboard-manage');
const VIEWPORT = { width: 1280, height: 800 };
const POLL = { timeout: 30_000, interval: 200 };
/** Beads with this in their title: their polecats give up (a turn without gt_done) while `doomed.fail`. */
const DOOMED = 'DOOMED';
const doomed = { fail: true };

let h: Harness;
let browser: Browser;
let page: Page;
let token: string;
const pageErrors: string[] = [];
const requests: string[] = [];

/** A polecat working on a DOOMED bead ends its turn without gt_done: the attempt fails. */
function giveUp(messages: unknown, toolNames: string[]): Turn | null {
  if (!doomed.fail || roleOf(toolNames) !== 'polecat') return null;
  return JSON.stringify(messages).includes(DOOMED) ? reply('I cannot do this one, giving up.') : null;
}

beforeAll(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  h = await startHarness({
    // a failed attempt is retried after 1 s, 2 s: the bead fails within a minute
    workerVars: { GASTOWN_DISPATCH_BACKOFF_SECONDS: '1' },
    intercept: (request, ctx) => giveUp(request.messages, ctx.toolNames),
  });
  token = await h.stack.userToken(E2E_USER);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: VIEWPORT });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
});

afterAll(async () => {
  await browser?.close();
  await h?.stack.stop();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await h.api.request(method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body as T;
}
const beadOf = async (townId: string, beadId: string) => (await api<{ bead: Bead }>('GET', `/api/towns/${townId}/beads/${beadId}`)).bead;

/** Sign in once (the token stays in localStorage), then open the town's page. */
async function openTown(townId: string): Promise<void> {
  if (!page.url().startsWith(h.stack.workerUrl)) {
    await page.goto(h.stack.workerUrl);
    await page.fill('#token', token);
    await page.click('form.signin-card button[type=submit]');
    await page.waitForSelector('#create-town');
  }
  await page.goto(`${h.stack.workerUrl}/towns/${townId}`);
  await page.waitForSelector('#stream-state[data-state="live"]');
  await page.waitForSelector('#agents-panel table, #agents-panel .empty');
  // everything from here on must arrive without a reload
  await page.evaluate('window.__noReload = true');
}

async function tab(id: string): Promise<void> {
  await page.click(`button[data-tab="${id}"]`);
}

const card = (beadId: string): Locator => page.locator(`#beads-panel .bead-card[data-bead-id="${beadId}"]`);
const cardStatus = async (beadId: string) => ((await card(beadId).count()) ? await card(beadId).getAttribute('data-status') : 'gone');

/** Fill the bead editor's fields (labels as typed, dependencies by id) and save. */
async function fillBead(v: { rigId?: string; title?: string; body?: string; priority?: string; labels?: string; dependsOn?: string[] }): Promise<void> {
  if (v.rigId) await page.selectOption('#bead-rig', v.rigId);
  if (v.title !== undefined) await page.fill('#bead-title', v.title);
  if (v.body !== undefined) await page.fill('#bead-body', v.body);
  if (v.priority !== undefined) await page.selectOption('#bead-priority', v.priority);
  if (v.labels !== undefined) await page.fill('#bead-labels', v.labels);
  for (const id of v.dependsOn ?? []) await page.check(`#bead-deps input[data-dep-id="${id}"]`);
}

/** Create a bead through the editor; returns its id (the editor stays on it). */
async function createBead(v: Parameters<typeof fillBead>[0] & { title: string }): Promise<string> {
  await page.click('#bead-new');
  await fillBead(v);
  await page.click('#bead-save');
  await expect.poll(() => page.locator('#bead-status').innerText(), POLL).toBe('Created.');
  const id = (await page.locator('#bead-editor-state .mono').first().innerText()).trim();
  expect(id).toMatch(/^bd_/);
  await card(id).waitFor({ timeout: 30_000 });
  return id;
}

/** The agents table fits its panel: no horizontal scroll, and the table's box inside its container's. */
async function expectAgentsTableFits(): Promise<void> {
  const wrap = page.locator('#agents-table-wrap');
  const sizes = await wrap.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  expect(sizes.scroll, `agents table scrollWidth ${sizes.scroll} > clientWidth ${sizes.client}`).toBeLessThanOrEqual(sizes.client);
  const table = (await page.locator('#agents-panel table.agents-table').boundingBox())!;
  const box = (await wrap.boundingBox())!;
  const panel = (await page.locator('#agents-panel').boundingBox())!;
  expect(table.x).toBeGreaterThanOrEqual(box.x - 0.5);
  expect(table.x + table.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
  expect(box.x + box.width).toBeLessThanOrEqual(panel.x + panel.width + 0.5);
  expect(panel.x + panel.width).toBeLessThanOrEqual(VIEWPORT.width);
  // the last column (the actions) and the 401s counter are inside the panel
  for (const sel of ['td.actions button[data-action="reissue"]', '[data-field="unauthorized"]']) {
    for (const el of await page.locator(`#agents-panel tr.agent-row:visible ${sel}`).all()) {
      const b = (await el.boundingBox())!;
      expect(b.x + b.width, sel).toBeLessThanOrEqual(box.x + box.width + 0.5);
    }
  }
}

describe('managing a town from the dashboard, live', () => {
  it('no provider banner; create, edit and link beads; a convoy whose progress moves to landed; delete a bead', async () => {
    const town = await h.api.createTown('manage');
    const { rig } = await h.addRig(town.id, 'manage-rig');
    await openTown(town.id);

    // --- no model provider: the banner, and its link opens the Settings tab
    const banner = page.locator('#no-provider-banner');
    await expect.poll(() => banner.isVisible(), POLL).toBe(true);
    expect(await banner.innerText()).toContain('No model provider');
    await page.screenshot({ path: join(OUT_DIR, 'no-provider-banner.png'), animations: 'disabled' });
    await page.click('#no-provider-settings-link');
    expect(await page.locator('button[data-tab="settings"]').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#settings-panel').isVisible()).toBe(true);
    await tab('overview');

    // --- create a bead: rig, title, body, priority, labels
    const a = await createBead({ rigId: rig.id, title: 'Add a health check', body: 'GET /health answers {ok:true}', priority: '1', labels: 'api, backend' });
    expect(await cardStatus(a)).toBe('open');
    expect(await card(a).innerText()).toMatch(/P1[\s\S]*api[\s\S]*backend/);
    expect(await beadOf(town.id, a)).toMatchObject({
      title: 'Add a health check',
      body: 'GET /health answers {ok:true}',
      priority: 1,
      labels: ['api', 'backend'],
      rigId: rig.id,
    });

    // --- a second bead that depends on the first: it waits for it
    const b = await createBead({ rigId: rig.id, title: 'Document the health check', dependsOn: [a] });
    await expect.poll(() => card(b).innerText(), POLL).toContain('waits for 1');
    expect((await beadOf(town.id, b)).dependsOn).toEqual([a]);

    // --- edit it: title, priority and labels; the card follows
    await card(b).click();
    await expect.poll(() => page.locator('#bead-editor-title').innerText(), POLL).toBe('Edit bead');
    await fillBead({ title: 'Document the health check endpoint', priority: '3', labels: 'docs' });
    await page.click('#bead-save');
    await expect.poll(() => page.locator('#bead-status').innerText(), POLL).toBe('Saved.');
    await expect.poll(() => card(b).locator('.bead-title').innerText(), POLL).toBe('Document the health check endpoint');
    expect(await beadOf(town.id, b)).toMatchObject({ title: 'Document the health check endpoint', priority: 3, labels: ['docs'], dependsOn: [a] });
    await page.locator('#beads-panel').screenshot({ path: join(OUT_DIR, 'beads-board.png'), animations: 'disabled' });
    await page.screenshot({ path: join(OUT_DIR, 'bead-editor.png'), animations: 'disabled' });

    // --- a convoy of both: 0 of 2
    await tab('convoys');
    await page.fill('#convoy-name', 'Health checks');
    await page.fill('#convoy-goal', 'The service reports its health, documented');
    await page.check(`#convoy-beads input[data-convoy-bead-id="${a}"]`);
    await page.check(`#convoy-beads input[data-convoy-bead-id="${b}"]`);
    await page.click('#convoy-form button[type=submit]');
    const convoy = page.locator('#convoys-panel li.convoy').first();
    await convoy.waitFor({ timeout: 30_000 });
    const convoyId = (await convoy.getAttribute('data-convoy-id'))!;
    const progress = convoy.locator('[data-field="progress"]');
    await expect.poll(() => progress.innerText(), POLL).toContain('0 of 2 closed');
    expect(await convoy.getAttribute('data-status')).toBe('open');

    // --- close the first bead (editor): the second no longer waits; the convoy shows 1 of 2
    await tab('overview');
    await card(a).click();
    await page.click('#bead-actions button[data-action="close"]');
    await expect.poll(() => cardStatus(a), POLL).toBe('closed');
    await expect.poll(() => card(b).innerText(), POLL).not.toContain('waits for');
    await tab('convoys');
    await expect.poll(() => progress.innerText(), POLL).toContain('1 of 2 closed');
    await page.screenshot({ path: join(OUT_DIR, 'convoy-progress.png'), animations: 'disabled' });

    // --- close the second: the convoy lands (convoy.landed on the stream)
    await tab('overview');
    await card(b).click();
    await page.click('#bead-actions button[data-action="close"]');
    await tab('convoys');
    await expect.poll(() => progress.innerText(), POLL).toContain('2 of 2 closed');
    await expect.poll(() => convoy.getAttribute('data-status'), POLL).toBe('landed');
    expect((await api<{ convoy: Convoy }>('GET', `/api/towns/${town.id}/convoys/${convoyId}`)).convoy.status).toBe('landed');
    await expect.poll(() => page.locator('#event-feed li[data-type="convoy.landed"]').count(), POLL).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUT_DIR, 'convoy-landed.png'), animations: 'disabled' });

    // --- reopen a closed bead, then delete a bead (asked first)
    await tab('overview');
    await card(b).click();
    await page.click('#bead-actions button[data-action="reopen"]');
    await expect.poll(() => cardStatus(b), POLL).toBe('open');
    const c = await createBead({ rigId: rig.id, title: 'A bead to delete' });
    await page.click('#bead-actions button[data-action="delete"]');
    expect(await page.locator('#bead-delete-confirm-row').isVisible()).toBe(true);
    await page.click('#bead-actions button[data-action="delete-confirm"]');
    await expect.poll(() => cardStatus(c), POLL).toBe('gone');
    expect((await h.api.request('GET', `/api/towns/${town.id}/beads/${c}`)).status).toBe(404);

    expect(await page.evaluate('window.__noReload')).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('a failed bead with its reason, its escalation acknowledged, the agents table at 1,280 px, requeue, nudge and restart, delete the rig', async () => {
    const { town, rig } = await h.createTown('ops', {});
    await openTown(town.id);
    expect(await page.locator('#no-provider-banner').isVisible()).toBe(false);

    // --- a bead whose polecats give up: it fails after its attempts, the reason on its card in full
    const doomedId = await createBead({ rigId: rig!.id, title: `${DOOMED}: rewrite everything`, body: 'cannot be done' });
    await page.click('#bead-editor-close');
    await waitFor(async () => (await cardStatus(doomedId)) === 'failed', {
      timeoutMs: 240_000,
      intervalMs: 1_000,
      what: 'the doomed bead to fail on the board',
      describe: async () => JSON.stringify(await beadOf(town.id, doomedId)),
    });
    const failed = await beadOf(town.id, doomedId);
    const reason = (failed.metadata.lastFailure as { reason: string }).reason;
    expect(reason.length).toBeGreaterThan(20);
    const shownReason = (await card(doomedId).locator('[data-field="failure-reason"]').innerText()).trim();
    expect(shownReason).toBe(reason.replace(/\s+/g, ' ').trim());
    await page.locator('#beads-panel').screenshot({ path: join(OUT_DIR, 'bead-failed.png'), animations: 'disabled' });

    // --- the escalation the failure raised: acknowledge it, then resolve it
    await tab('escalations');
    const escalation = page.locator('#escalations-panel li.escalation').first();
    await escalation.waitFor({ timeout: 30_000 });
    expect(await escalation.getAttribute('data-state')).toBe('open');
    await escalation.locator('button[data-action="acknowledge"]').click();
    await expect.poll(() => escalation.getAttribute('data-state'), POLL).toBe('acknowledged');
    await page.screenshot({ path: join(OUT_DIR, 'escalation-acknowledged.png'), animations: 'disabled' });
    await escalation.locator('button[data-action="resolve"]').click();
    await expect.poll(() => escalation.getAttribute('data-state'), POLL).toBe('resolved');

    // --- the agents table: the whole of it fits 1,280 × 800, ended runs collapsed, then shown
    await tab('overview');
    const toggle = page.locator('#agents-ended-toggle');
    const agents = await h.agentsOf(town.id);
    const ended = agents.filter((x: Agent) => x.role !== 'mayor' && ['exited', 'stopped', 'failed'].includes(x.status));
    expect(ended.length, 'three failed attempts left ended runs').toBeGreaterThanOrEqual(3);
    await expect.poll(() => toggle.getAttribute('data-count'), POLL).toBe(String(ended.length - 2));
    expect(await page.locator('#agents-ended').isVisible()).toBe(false);
    await page.locator('#agents-panel').scrollIntoViewIfNeeded();
    await expectAgentsTableFits();
    await page.screenshot({ path: join(OUT_DIR, 'agents-table-1280.png'), animations: 'disabled' });
    await toggle.click();
    expect(await page.locator('#agents-ended').isVisible()).toBe(true);
    await expectAgentsTableFits();
    await page.locator('#agents-panel').screenshot({ path: join(OUT_DIR, 'agents-table-ended-1280.png'), animations: 'disabled' });

    // --- requeue: fresh attempts; its polecat is held at its first model call, so it works while nudged and restarted
    doomed.fail = false;
    const gate: PolecatGate = h.scenario.holdPolecats();
    try {
      await card(doomedId).click();
      await page.click('#bead-actions button[data-action="requeue"]');
      await expect.poll(() => page.locator('#bead-status').innerText(), POLL).toBe('Requeued with fresh attempts.');
      await expect.poll(() => cardStatus(doomedId), POLL).not.toBe('failed');
      await page.click('#bead-editor-close');
      const polecat = await waitFor(
        async () => (await h.agentsOf(town.id)).find((x) => x.role === 'polecat' && x.beadId === doomedId && x.status === 'working' && gate.pending() > 0),
        { timeoutMs: 120_000, intervalMs: 500, what: 'the requeued bead’s polecat to work (held at the gate)' },
      );
      expect((await beadOf(town.id, doomedId)).attempts).toBeLessThanOrEqual(1);
      const row = page.locator(`#agents-panel tr.agent-row[data-agent-id="${polecat.id}"]`);
      await expect.poll(() => row.getAttribute('data-status'), POLL).toBe('working');

      // nudge: the box under its row, the server's answer under its buttons
      await row.locator('button[data-action="nudge"]').click();
      await page.fill(`#agents-panel input[data-nudge-for="${polecat.id}"]`, 'Please keep the change small.');
      await page.click(`#agents-panel button[data-action="nudge-send"][data-agent-id="${polecat.id}"]`);
      await expect.poll(() => row.locator('.action-outcome[data-outcome-of="nudge"]').innerText(), POLL).toBe('✓ nudge delivered');

      // restart: a new run, gen + 1; the bead stays its own
      const genBefore = polecat.credential.gen;
      await row.locator('button[data-action="restart"]').click();
      await expect.poll(() => row.locator('.action-outcome[data-outcome-of="restart"]').innerText(), POLL).toMatch(/^✓ restarted · gen \d+ → \d+$/);
      const restarted = (await h.agentsOf(town.id)).find((x) => x.id === polecat.id)!;
      expect(restarted.credential.gen).toBeGreaterThan(genBefore);
      expect(restarted.beadId).toBe(doomedId);
      await page.screenshot({ path: join(OUT_DIR, 'agent-restarted.png'), animations: 'disabled' });
    } finally {
      gate.release();
    }
    // released, the polecat finishes: the requeued bead is merged (closed), live
    await waitFor(async () => (await cardStatus(doomedId)) === 'closed', {
      timeoutMs: 240_000,
      intervalMs: 1_000,
      what: 'the requeued bead to be merged',
      describe: async () => JSON.stringify(await beadOf(town.id, doomedId)),
    });

    // --- delete the rig (asked first): its open work is cancelled, it disappears
    const open = await createBead({ rigId: rig!.id, title: 'Waits for a dependency that never closes', dependsOn: [] });
    await page.click('#bead-editor-close');
    await tab('rigs');
    const rigItem = page.locator(`#rigs-panel li[data-rig-id="${rig!.id}"]`);
    await rigItem.locator('button[data-action="delete-rig"]').click();
    await rigItem.locator('button[data-action="delete-rig-confirm"]').click();
    await expect.poll(() => rigItem.count(), POLL).toBe(0);
    await expect.poll(() => page.locator('#rig-deleted-status').innerText(), POLL).toMatch(/^Deleted rig ops-rig: \d+ beads? cancelled/);
    expect((await h.api.rigs(town.id)).map((r) => r.id)).not.toContain(rig!.id);
    await page.screenshot({ path: join(OUT_DIR, 'rig-deleted.png'), animations: 'disabled' });
    await tab('overview');
    await expect.poll(() => cardStatus(open), POLL).toBe('closed');

    expect(await page.evaluate('window.__noReload')).toBe(true);
    expect(requests.filter((r) => r.startsWith(`GET /api/towns/${town.id}/events`) && !r.endsWith('/stream'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
