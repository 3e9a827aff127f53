/** How the CLI writes a rig's auth kind and merge strategy: the flags' spelling (`github-app`, `pull-request`). */
import type { MergeStrategy, RigAuthKind } from '@gastown/protocol';

export function authKindLabel(kind: RigAuthKind): string {
  return kind === 'github_app' ? 'github-app' : kind;
}

export function strategyLabel(strategy: MergeStrategy): string {
  return strategy === 'pull_request' ? 'pull-request' : strategy;
}
