/**
 * The web dashboard in a real browser (Debian chromium via playwright-core) against the whole
 * local stack: wrangler dev serving the dashboard as static assets in front of the control
 * plane, the container host with real `opencode serve` agents, and the scripted fake LLM.
 *
 * One user journey: sign in with a pasted token → create a town → settings (with a server
 * validation error shown next to its field) → add a rig → chat with the mayor and watch its tool
 * calls and reply stream in → a new bead appears on the board live → an agent's credential
 * health updates after a refresh → the mayor's saved session shows in the chat panel →
 * reissue credentials shows the real outcome, success and failure → "New conversation"
 * (confirmed inline) deletes the saved session and clears the chat. Then, on the same town:
 * models per role chosen in the settings are what the API stores, and the usage panel's totals
 * are the API's (`GET /usage`). Screenshots go to test-output/dashboard/
 * (DASHBOARD_SCREENSHOT_TO_DOCS=1 also copies the town page to docs/images/town-page.png).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageResponse } from '@gastown/protocol';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRigRepo, FAKE_LLM_KEY_VAR, FAKE_LLM_MODEL, REPO_ROOT, requestJson } from '../../src/stack/index';
import { startHarness, waitFor, type Harness } from '../support/harness';
import { launchChromium } from './browser';

const OUT_DIR = join(REPO_ROOT, 'test-output', 'dashboard');
const USER = 'dashboard-user';
const TOKEN_TTL_SECONDS = 20;
/** UI assertions wait for the page; the first mayor message also starts the town's container. */
const POLL = { timeout: 30_000, interval: 200 };

let h: Harness;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];
/** The town the journey created (the models-and-usage case continues on it). */
let journey: { townId: string; token: string } | null = null;

beforeAll(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  h = await startHarness();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('request', (r: Request) => requests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await h?.stack.stop();
});

/** The broker's refresh count shown in an agent row. */
async function refreshes(role: string): Promise<number> {
  return Number(await page.locator(`#agents-panel tr[data-role="${role}"] [data-count="refreshes"]`).first().innerText());
}

/**
 * Choose a role's model in the settings form: a <select> when the provider lists its models (the
 * fake LLM does, once its key is set), else a free-text input.
 */
async function chooseModel(role: string, model: string): Promise<void> {
  const control = page.locator(`[data-testid="model-${role}"]`);
  if ((await control.evaluate((el) => el.tagName)) === 'SELECT') await control.selectOption(model);
  else await control.fill(model);
}

/** Text of an agent row's cell. */
async function cell(role: string, field: string): Promise<string> {
  return (await page.locator(`#agents-panel tr[data-role="${role}"] [data-field="${field}"]`).first().innerText()).trim();
}

describe('the dashboard, in a browser, against the local stack', () => {
  it('the asset router serves the dashboard and leaves the API to the worker', async () => {
    const base = h.stack.workerUrl;
    const nav = { 'sec-fetch-mode': 'navigate', accept: 'text/html' };
    for (const path of ['/', '/towns/town_abcdefgh']) {
      const res = await fetch(`${base}${path}`, { headers: nav });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain('text/html');
      expect(await res.text(), path).toContain('<div id="app">');
    }
    const api = await fetch(`${base}/api/towns`, { headers: nav });
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toContain('application/json');
    expect(await api.json()).toMatchObject({ error: { code: 'token_missing' } });
    const agent = await fetch(`${base}/agent/towns/town_abcdefgh/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(agent.headers.get('content-type')).toContain('application/json');
    const doc = await fetch(`${base}/openapi.json`, { headers: nav });
    expect(doc.headers.get('content-type')).toContain('application/json');
    expect(((await doc.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    expect(await (await fetch(`${base}/health`, { headers: nav })).json()).toEqual({ ok: true });
    const js = await fetch(`${base}/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
  });

  it('sign in, create a town, configure it, add a rig, chat with the mayor, watch beads and credentials live, reissue', async () => {
    const base = h.stack.workerUrl;
    const token = await h.stack.userToken(USER);

    // --- sign in: a bad token is refused with the server's code, the real one is kept
    await page.goto(base);
    await page.fill('#token', 'not-a-token');
    await page.click('form.signin-card button[type=submit]');
    await expect.poll(() => page.locator('.signin-card .form-error').innerText(), POLL).toContain('token_malformed');
    await page.fill('#token', token);
    await page.click('form.signin-card button[type=submit]');
    await page.waitForSelector('#create-town');
    expect(await page.evaluate("localStorage.getItem('gastown.userToken')")).toBe(token);

    // --- create a town: the page moves to it
    await page.fill('#town-name', 'dash');
    await page.click('#create-town button[type=submit]');
    await page.waitForURL(/\/towns\/town_[a-z0-9]+/);
    const townId = /\/towns\/(town_[a-z0-9]+)/.exec(page.url())![1]!;
    await expect.poll(() => page.locator('#town-name').innerText(), POLL).toBe('dash');
    await page.waitForSelector('#stream-state[data-state="live"]');

    // --- settings: a value the server refuses shows its validation message next to the field
    await page.click('button[data-tab="settings"]');
    await page.selectOption('#provider-kind', 'openai-compatible');
    await page.fill('#provider-base-url', h.stack.fakeLlm!.url);
    await chooseModel('default', FAKE_LLM_MODEL);
    await page.fill('#provider-key-var', FAKE_LLM_KEY_VAR);
    await page.fill('#token-ttl', '1');
    await page.click('#settings-form button[type=submit]');
    await expect.poll(() => page.locator('#settings-error').innerText(), POLL).toContain('validation_failed');
    const ttlError = page.locator('[data-error-for="agentTokenTtlSeconds"]');
    await expect.poll(() => ttlError.isVisible(), POLL).toBe(true);
    expect(await ttlError.innerText()).toMatch(/>=\s*2|too small/i);
    await page.locator('#settings-panel').screenshot({ path: join(OUT_DIR, 'settings-validation.png'), animations: 'disabled' });
    await page.fill('#token-ttl', String(TOKEN_TTL_SECONDS));
    await page.click('#settings-form button[type=submit]');
    await expect.poll(() => page.locator('#settings-status').innerText(), POLL).toContain('Saved');
    expect(await ttlError.isVisible()).toBe(false);
    // env var: set it, then only its name is shown — the value is nowhere in the page
    await page.fill('#env-name', FAKE_LLM_KEY_VAR);
    await page.fill('#env-value', h.llmApiKey);
    await page.click('#env-form button[type=submit]');
    await page.waitForSelector(`#env-list li[data-env-name="${FAKE_LLM_KEY_VAR}"]`);
    expect(await page.content()).not.toContain(h.llmApiKey);
    expect(await page.inputValue('#env-value')).toBe('');
    const town = await (await h.stack.userApi(USER)).town(townId);
    // the model is the town's default model now (models.default), no longer part of the provider
    expect(town.config).toMatchObject({
      agentTokenTtlSeconds: TOKEN_TTL_SECONDS,
      envVarNames: [FAKE_LLM_KEY_VAR],
      provider: { kind: 'openai-compatible', apiKeyEnvVar: FAKE_LLM_KEY_VAR },
      models: { default: FAKE_LLM_MODEL },
    });
    journey = { townId, token };

    // --- add a rig
    const repo = createRigRepo(join(h.stack.stateDir, 'repos', 'dash'), 'dash-rig');
    await page.click('button[data-tab="rigs"]');
    await page.fill('#rig-name', 'dash-rig');
    await page.fill('#rig-git-url', repo.path);
    await page.fill('#rig-branch', repo.defaultBranch);
    await page.click('#add-rig button[type=submit]');
    await page.waitForSelector('#rigs-panel li[data-rig-id]');

    // --- chat with the mayor; everything after this point must arrive without a reload
    await page.click('button[data-tab="overview"]');
    await page.evaluate('window.__noReload = true');
    expect(await page.locator('#beads-panel .bead-card').count()).toBe(0);
    await page.fill('#chat-input', 'Please add a short note to the repository.');
    await page.click('#chat-send');
    await expect.poll(() => page.locator('#chat-status').innerText(), { timeout: 120_000, interval: 250 }).toMatch(/Delivered|starting|Stored/);
    await page.waitForSelector('#chat-log [data-kind="user"]');
    // the mayor's tool calls and reply stream in (agent.tool / agent.text town events)
    await page.waitForSelector('#chat-log [data-kind="tool"][data-tool="gt_sling"][data-state="completed"]', { timeout: 180_000 });
    await page.waitForSelector('#chat-log [data-kind="text"]', { timeout: 60_000 });
    expect(await page.locator('#chat-log [data-kind="text"]').last().innerText()).toMatch(/\S/);
    expect(await page.locator('#event-feed li[data-type="session.busy"]').count()).toBeGreaterThan(0);
    // the slung bead appears on the board, live
    await page.waitForSelector('#beads-panel .bead-card', { timeout: 30_000 });
    await page.locator('#chat-panel').screenshot({ path: join(OUT_DIR, 'chat.png'), animations: 'disabled' });

    // --- credential health updates after a refresh (20 s tokens: brokers refresh every ~10 s)
    const refreshesBefore = await refreshes('mayor');
    const lastRefreshBefore = await cell('mayor', 'last-refresh');
    await waitFor(async () => (await refreshes('mayor')) > refreshesBefore, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'the mayor row to show a new refresh',
      describe: async () => `refreshes ${await cell('mayor', 'refreshes')}, last refresh ${await cell('mayor', 'last-refresh')} (was ${lastRefreshBefore})`,
    });
    expect(await cell('mayor', 'credential')).toContain('healthy');
    expect(await cell('mayor', 'expires')).toMatch(/^in \d+s$/);
    expect(await page.locator('#agents-panel tr[data-role="mayor"]').getAttribute('data-severity')).toBe('ok');

    // --- the mayor's conversation was saved (after the message, on idle): when, turns, stored size
    await expect
      .poll(() => page.locator('#chat-session').innerText(), POLL)
      .toMatch(/^Session saved (just now|\d+[smhd] ago) · \d+ turns? · \d+(\.\d)? (B|KiB|MiB)/);
    expect(await page.locator('#chat-new').isEnabled()).toBe(true);
    // "New conversation" asks first; Cancel leaves everything as it was
    await page.click('#chat-new');
    expect(await page.locator('#chat-new-confirm-row').isVisible()).toBe(true);
    await page.click('#chat-new-cancel');
    expect(await page.locator('#chat-new-confirm-row').isVisible()).toBe(false);
    expect(requests.filter((r) => r.startsWith('DELETE '))).toEqual([]);

    // --- reissue credentials: the real outcome
    await page.click('#agents-panel tr[data-role="mayor"] button[data-action="reissue"]');
    const mayorOutcome = page.locator('#agents-panel tr[data-role="mayor"] .reissue-outcome');
    await expect.poll(() => mayorOutcome.innerText(), POLL).toMatch(/^✓ delivered · valid/);

    // --- the polecat commits and calls gt_done: its bead moves to "in review" and a merge request appears, live
    await page.waitForSelector('#beads-panel .board-col[data-status="in_review"] .bead-card', { timeout: 180_000 });
    await page.click('button[data-tab="merge-requests"]');
    await page.waitForSelector('#merge-requests-panel tr[data-bead-id]', { timeout: 30_000 });
    expect(await page.locator('#merge-requests-panel tr[data-bead-id]').first().innerText()).toContain('gt/');
    await page.click('button[data-tab="overview"]');
    await page.screenshot({ path: join(OUT_DIR, 'town-page.png'), animations: 'disabled' });
    if (process.env.DASHBOARD_SCREENSHOT_TO_DOCS === '1') copyFileSync(join(OUT_DIR, 'town-page.png'), join(REPO_ROOT, 'docs', 'images', 'town-page.png'));

    // a failure is shown as the server's code and message, never as a success: stop an agent, then reissue
    const api = await h.stack.userApi(USER);
    const victim = (await api.agents(townId)).find((a) => a.role !== 'mayor');
    expect(victim, 'an agent besides the mayor').toBeTruthy();
    const stopped = await requestJson(`${base}/api/towns/${townId}/agents/${victim!.id}/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: {},
    });
    expect(stopped.status).toBe(200);
    const row = page.locator(`#agents-panel tr[data-agent-id="${victim!.id}"]`);
    await expect.poll(() => row.locator('[data-field="credential"]').innerText(), POLL).toContain('revoked');
    await row.locator('button[data-action="reissue"]').click();
    await expect.poll(() => row.locator('.reissue-outcome').innerText(), POLL).toMatch(/^✗ conflict: /);

    // --- New conversation, confirmed: the saved session is deleted and the chat starts empty
    await page.click('#chat-new');
    await page.click('#chat-new-confirm');
    await expect.poll(() => page.locator('#chat-status').innerText(), POLL).toMatch(/^Started a new conversation \(the previous one was deleted\)/);
    expect(requests).toContain(`DELETE /api/towns/${townId}/mayor/session`);
    expect(await page.locator('#chat-log .chat-empty').count()).toBe(1);
    await expect.poll(() => page.locator('#chat-session').innerText(), POLL).toBe('Session not saved yet');

    // --- it all came over one event stream: no reload, no polling of the event list
    expect(await page.evaluate('window.__noReload')).toBe(true);
    expect(requests.filter((r) => r.startsWith(`GET /api/towns/${townId}/events?`))).toEqual([]);
    expect(requests.filter((r) => r.startsWith(`GET /api/towns/${townId}/events/stream`)).length).toBeLessThanOrEqual(2);
    expect(pageErrors).toEqual([]);
    await page.locator('#feed-panel').screenshot({ path: join(OUT_DIR, 'event-feed.png'), animations: 'disabled' });
  });
  it('models per role chosen in the settings are stored; the usage panel shows the totals GET /usage gives', async () => {
    expect(journey, 'the journey above created the town').toBeTruthy();
    const { townId, token } = journey!;
    const base = h.stack.workerUrl;
    const auth = { authorization: `Bearer ${token}` };
    const usage = async (by: 'day' | 'bead'): Promise<UsageResponse> => {
      const res = await requestJson(`${base}/api/towns/${townId}/usage?by=${by}`, { headers: auth });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as UsageResponse;
    };

    // --- settings: a model per role and a spend cap, saved with one PATCH
    await page.click('button[data-tab="settings"]');
    // the provider's model list has been asked for (the fake LLM lists its model once the key is set)
    await page.waitForSelector('#models-source[data-source]');
    for (const role of ['mayor', 'polecat', 'refinery', 'small']) await chooseModel(role, FAKE_LLM_MODEL);
    await page.fill('#spend-cap-limit', '1000');
    await page.selectOption('#spend-cap-period', 'month');
    const patches = () => requests.filter((r) => r === `PATCH /api/towns/${townId}/config`).length;
    const patchesBefore = patches();
    await page.click('#settings-form button[type=submit]');
    await expect.poll(() => page.locator('#settings-status').innerText(), POLL).toContain('Saved');
    expect(patches()).toBe(patchesBefore + 1);
    const town = await (await h.stack.userApi(USER)).town(townId);
    expect(town.config.models).toMatchObject({
      default: FAKE_LLM_MODEL,
      mayor: FAKE_LLM_MODEL,
      polecat: FAKE_LLM_MODEL,
      refinery: FAKE_LLM_MODEL,
      small: FAKE_LLM_MODEL,
    });
    expect(town.config.spendCap).toEqual({ period: 'month', limitUsd: 1000 });
    await page.locator('#settings-panel').screenshot({ path: join(OUT_DIR, 'settings-models.png'), animations: 'disabled' });

    // --- a model call to count: the journey's mayor and polecat made some; if not, one mayor message
    if ((await usage('day')).totals.calls === 0) {
      await page.click('button[data-tab="overview"]');
      await page.fill('#chat-input', 'Which rigs does this town have?');
      await page.click('#chat-send');
      await waitFor(async () => (await usage('day')).totals.calls > 0, { timeoutMs: 180_000, intervalMs: 1_000, what: 'a model call in GET /usage' });
    }

    // --- the usage panel: its totals are the API's (refreshed until the town is quiet and both agree)
    await page.click('button[data-tab="usage"]');
    await page.waitForSelector('#usage-totals');
    type Totals = Pick<UsageResponse['totals'], 'calls' | 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'costMicros'>;
    const pick = (t: Totals): Totals => ({
      calls: t.calls,
      inputTokens: t.inputTokens,
      outputTokens: t.outputTokens,
      cacheReadTokens: t.cacheReadTokens,
      cacheWriteTokens: t.cacheWriteTokens,
      costMicros: t.costMicros,
    });
    const shownTotals = async (): Promise<Totals> => {
      const totalsElement = page.locator('#usage-totals');
      const attribute = async (name: string) => (await totalsElement.getAttribute(`data-${name}`)) ?? '';
      const d = {
        calls: await attribute('calls'),
        inputTokens: await attribute('input-tokens'),
        outputTokens: await attribute('output-tokens'),
        cacheReadTokens: await attribute('cache-read-tokens'),
        cacheWriteTokens: await attribute('cache-write-tokens'),
        costMicros: await attribute('cost-micros'),
      };
      return pick({
        calls: Number(d.calls),
        inputTokens: Number(d.inputTokens),
        outputTokens: Number(d.outputTokens),
        cacheReadTokens: Number(d.cacheReadTokens),
        cacheWriteTokens: Number(d.cacheWriteTokens),
        costMicros: Number(d.costMicros),
      });
    };
    await expect
      .poll(
        async () => {
          const before = (await page.locator('#usage-panel').getAttribute('data-loaded-at')) ?? '';
          await page.click('#usage-refresh');
          // polled from here: a string predicate in waitForFunction is eval'd in the page, which the dashboard's CSP refuses
          await expect
            .poll(async () => (await page.locator('#usage-panel').getAttribute('data-loaded-at')) ?? '', { timeout: 15_000, interval: 100 })
            .not.toBe(before);
          const shown = JSON.stringify(await shownTotals());
          const api = JSON.stringify(pick((await usage('day')).totals));
          return shown === api ? 'equal' : `shown ${shown}, api ${api}`;
        },
        { timeout: 120_000, interval: 2_000 },
      )
      .toBe('equal');
    const totals = await shownTotals();
    expect(totals.calls).toBeGreaterThan(0);
    expect(await page.locator('#usage-totals [data-total="calls"] dd').innerText()).toMatch(new RegExp(`^${totals.calls.toLocaleString('en-US')}\\b`));
    // the cap is set: the spend status shows, well within $1000 a month
    expect(await page.locator('#usage-spend').getAttribute('data-state')).toBe('ok');
    expect(await page.locator('#usage-spend').innerText()).toContain('of $1000.00 per month');
    expect(await page.locator('#usage-chart-tokens rect.chart-bar').count()).toBeGreaterThan(0);
    // beads whose agents called the model: listed by cost, and their cost is on the board
    const withBead = (await usage('bead')).rows.filter((r) => r.key !== 'none' && r.calls > 0);
    if (withBead.length > 0) {
      await page.waitForSelector(`#usage-top-beads tr[data-bead-id="${withBead[0]!.key}"]`);
      await page.click('button[data-tab="overview"]');
      await page.waitForSelector('#beads-panel .bead-card .bead-cost');
      await page.click('button[data-tab="usage"]');
    }
    await page.locator('#usage-panel').screenshot({ path: join(OUT_DIR, 'usage.png'), animations: 'disabled' });
    expect(pageErrors).toEqual([]);
  });
});
