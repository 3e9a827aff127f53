/**
 * Webhook deliveries of the fake GitHub: `pull_request` events signed like GitHub's
 * (`X-Hub-Signature-256: sha256=<HMAC-SHA256 hex of the raw body>`), sent in the background,
 * recorded, and resendable with the same delivery id (a replay).
 */
import { createHmac } from 'node:crypto';
import { GastownError } from '@gastown/protocol';
import { pullJson, type PullAction } from './pulls';
import { repoKey } from './tokens';
import type { Clock, FakePull, FakeRepo, RawSendResult, WebhookDelivery, WebhookSpec } from './types';

const DELIVERY_TIMEOUT_MS = 10_000;

interface Hook extends WebhookSpec {
  id: number;
  repo: string;
}

/** `sha256=<hex>`: the X-Hub-Signature-256 of `body` under `secret`. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A v4 uuid from 16 random bytes (GitHub's X-GitHub-Delivery format). */
export function uuidFrom(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class WebhookSender {
  private readonly hooks: Hook[] = [];
  private readonly records: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborter = new AbortController();
  private nextHookId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly randomBytes: (size: number) => Buffer,
  ) {}

  add(repo: FakeRepo, spec: WebhookSpec): number {
    if (!/^https?:\/\//.test(spec.url)) throw new GastownError('validation_failed', 'fake-github: webhook url must be http(s)');
    const id = this.nextHookId++;
    this.hooks.push({ ...spec, id, repo: repoKey(repo.fullName) });
    return id;
  }

  /** Queue a `pull_request` delivery to every hook of the repository. */
  pullRequest(action: PullAction, pull: FakePull, repo: FakeRepo, apiBaseUrl: string): void {
    const payload = {
      action,
      number: pull.number,
      pull_request: pullJson(pull, repo, apiBaseUrl),
      repository: { id: repo.id, name: repo.name, full_name: repo.fullName, private: true, default_branch: repo.defaultBranch, owner: { login: repo.owner } },
      sender: { login: 'fake-github' },
    };
    const body = JSON.stringify(payload);
    for (const hook of this.hooks.filter((h) => h.repo === repoKey(repo.fullName))) {
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/fake',
        'x-github-event': 'pull_request',
        'x-github-delivery': uuidFrom(this.randomBytes(16)),
        'x-github-hook-id': String(hook.id),
        'x-hub-signature-256': signatureOf(hook.secret, body),
      };
      void this.deliver({ hookId: hook.id, url: hook.url, event: 'pull_request', action, body, headers, redelivery: false });
    }
  }

  deliveries(): WebhookDelivery[] {
    return this.records.map((r) => ({ ...r, headers: { ...r.headers } }));
  }

  /** Send the original delivery `id` again: same id, body and signature. */
  redeliver(id: string): Promise<WebhookDelivery> {
    const original = this.records.find((r) => r.id === id && !r.redelivery);
    if (!original) throw new GastownError('not_found', `fake-github: no delivery ${id}`);
    const { hookId, url, event, action, body, headers } = original;
    return this.deliver({ hookId, url, event, action, body, headers: { ...headers }, redelivery: true });
  }

  async sendRaw(url: string, body: string, headers: Record<string, string> = {}): Promise<RawSendResult> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
    });
    return { status: res.status, body: await res.text() };
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stop(): void {
    this.aborter.abort();
  }

  private deliver(input: Omit<WebhookDelivery, 'id' | 'status' | 'error' | 'at'>): Promise<WebhookDelivery> {
    const record: WebhookDelivery = { ...input, id: input.headers['x-github-delivery']!, status: null, error: null, at: this.clock.now() };
    this.records.push(record);
    const done = this.sendRaw(record.url, record.body, record.headers).then(
      (res) => {
        record.status = res.status;
      },
      (err: unknown) => {
        record.error = (err as { name?: string }).name === 'TimeoutError' ? 'timeout' : 'request_failed';
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done.then(() => ({ ...record, headers: { ...record.headers } }));
  }
}
