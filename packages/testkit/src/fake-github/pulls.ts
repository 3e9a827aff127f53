/**
 * Pull requests of the fake GitHub: create, read, merge (a real merge commit in the bare repo),
 * close. Every state change is reported to `onChange` (the webhook sender). GitHub's JSON shapes
 * are built in `pullJson`.
 */
import type { RepoStore } from './repos';
import type { Clock, FakePull, FakeRepo } from './types';

export type PullAction = 'opened' | 'closed';

/** A refusal in GitHub's terms: the status and message the REST API answers. */
export type PullRefusal = { ok: false; status: 404 | 405 | 409 | 422; message: string };
export type PullOutcome = { ok: true; pull: FakePull } | PullRefusal;

export interface CreatePullInput {
  title?: unknown;
  head?: unknown;
  base?: unknown;
  body?: unknown;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class PullStore {
  private readonly byRepo = new Map<number, FakePull[]>();
  /** Pulls being merged or closed right now: a second merge/close waits its turn by failing. */
  private readonly busy = new Set<FakePull>();

  constructor(
    private readonly repos: RepoStore,
    private readonly clock: Clock,
    private readonly baseUrl: () => string,
    private readonly onChange: (action: PullAction, pull: FakePull, repo: FakeRepo) => void,
  ) {}

  list(repo: FakeRepo): FakePull[] {
    return (this.byRepo.get(repo.id) ?? []).map((p) => ({ ...p }));
  }

  find(repo: FakeRepo, number: number): FakePull | undefined {
    return this.byRepo.get(repo.id)?.find((p) => p.number === number);
  }

  async create(repo: FakeRepo, input: CreatePullInput): Promise<PullOutcome> {
    const invalid = (message: string): PullRefusal => ({ ok: false, status: 422, message });
    if (typeof input.title !== 'string' || input.title.length === 0) return invalid('Validation Failed: title is missing');
    if (typeof input.head !== 'string' || typeof input.base !== 'string') return invalid('Validation Failed: head and base are required');
    // `head` may be `owner:branch` (same-repository pulls only here)
    const headRef = input.head.includes(':') ? input.head.slice(input.head.indexOf(':') + 1) : input.head;
    const headSha = await this.repos.branchSha(repo, headRef);
    if (!headSha) return invalid(`Validation Failed: head ${headRef} is not a branch`);
    const baseSha = await this.repos.branchSha(repo, input.base);
    if (!baseSha) return invalid(`Validation Failed: base ${input.base} is not a branch`);
    if (await this.repos.isAncestor(repo, headSha, baseSha)) return invalid(`Validation Failed: No commits between ${input.base} and ${headRef}`);
    // no await from here on: the number and the duplicate check see every earlier create
    const pulls = this.byRepo.get(repo.id) ?? [];
    this.byRepo.set(repo.id, pulls);
    if (pulls.some((p) => p.state === 'open' && p.headRef === headRef && p.baseRef === input.base)) {
      return invalid(`Validation Failed: A pull request already exists for ${repo.owner}:${headRef}.`);
    }
    const now = this.clock.now();
    const number = pulls.length + 1;
    const pull: FakePull = {
      number,
      owner: repo.owner,
      repo: repo.name,
      title: input.title,
      body: typeof input.body === 'string' ? input.body : '',
      state: 'open',
      merged: false,
      headRef,
      headSha,
      baseRef: input.base,
      htmlUrl: `${this.baseUrl()}/${repo.owner}/${repo.name}/pull/${number}`,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      mergedAt: null,
      mergeCommitSha: null,
    };
    pulls.push(pull);
    this.onChange('opened', pull, repo);
    return { ok: true, pull: { ...pull } };
  }

  /** The pull request with its head sha refreshed from the branch while it is open. */
  async read(repo: FakeRepo, number: number): Promise<FakePull | undefined> {
    const pull = this.find(repo, number);
    if (!pull) return undefined;
    if (pull.state === 'open') pull.headSha = (await this.repos.branchSha(repo, pull.headRef)) ?? pull.headSha;
    return { ...pull };
  }

  /** `sha`: merge only if the head is still there (GitHub's optimistic check). */
  async merge(repo: FakeRepo, number: number, options: { sha?: string; commitTitle?: string } = {}): Promise<PullOutcome> {
    const pull = this.find(repo, number);
    if (!pull) return { ok: false, status: 404, message: 'Not Found' };
    if (pull.state !== 'open' || this.busy.has(pull)) return { ok: false, status: 405, message: 'Pull Request is not mergeable' };
    this.busy.add(pull);
    try {
      return await this.mergeOpen(repo, pull, options);
    } finally {
      this.busy.delete(pull);
    }
  }

  private async mergeOpen(repo: FakeRepo, pull: FakePull, options: { sha?: string; commitTitle?: string }): Promise<PullOutcome> {
    const number = pull.number;
    const headSha = await this.repos.branchSha(repo, pull.headRef);
    if (!headSha) return { ok: false, status: 405, message: 'Pull Request is not mergeable' };
    if (options.sha && options.sha !== headSha) return { ok: false, status: 409, message: 'Head branch was modified. Review and try the merge again.' };
    const title = options.commitTitle ?? `Merge pull request #${number} from ${repo.owner}/${pull.headRef}`;
    const result = await this.repos.merge(repo, pull.baseRef, pull.headRef, `${title}\n\n${pull.title}\n`);
    if (!result.ok) {
      return result.reason === 'base_moved'
        ? { ok: false, status: 409, message: 'Base branch was modified. Review and try the merge again.' }
        : { ok: false, status: 405, message: 'Pull Request is not mergeable' };
    }
    const now = this.clock.now();
    Object.assign(pull, { state: 'closed', merged: true, headSha, mergedAt: now, closedAt: now, updatedAt: now, mergeCommitSha: result.sha });
    this.onChange('closed', pull, repo);
    return { ok: true, pull: { ...pull } };
  }

  async close(repo: FakeRepo, number: number): Promise<PullOutcome> {
    const pull = this.find(repo, number);
    if (!pull) return { ok: false, status: 404, message: 'Not Found' };
    if (pull.state === 'closed') return { ok: true, pull: { ...pull } };
    if (this.busy.has(pull)) return { ok: false, status: 409, message: 'Pull Request is being merged' };
    this.busy.add(pull);
    try {
      pull.headSha = (await this.repos.branchSha(repo, pull.headRef)) ?? pull.headSha;
    } finally {
      this.busy.delete(pull);
    }
    const now = this.clock.now();
    Object.assign(pull, { state: 'closed', closedAt: now, updatedAt: now });
    this.onChange('closed', pull, repo);
    return { ok: true, pull: { ...pull } };
  }
}

/** GitHub's JSON for a pull request (the fields the product and tests read, plus a few). */
export function pullJson(pull: FakePull, repo: FakeRepo, apiBaseUrl: string): Record<string, unknown> {
  const repository = { id: repo.id, name: repo.name, full_name: repo.fullName, private: true };
  return {
    url: `${apiBaseUrl}/repos/${repo.fullName}/pulls/${pull.number}`,
    id: repo.id * 1000 + pull.number,
    number: pull.number,
    html_url: pull.htmlUrl,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    merged: pull.merged,
    mergeable: pull.state === 'open' ? true : null,
    merge_commit_sha: pull.mergeCommitSha,
    created_at: iso(pull.createdAt),
    updated_at: iso(pull.updatedAt),
    closed_at: iso(pull.closedAt),
    merged_at: iso(pull.mergedAt),
    head: { label: `${repo.owner}:${pull.headRef}`, ref: pull.headRef, sha: pull.headSha, repo: repository },
    base: { label: `${repo.owner}:${pull.baseRef}`, ref: pull.baseRef, repo: repository },
    user: { login: 'fake-github' },
  };
}
