import { pullRequestElement, type PullRequestView } from '../model/pull-request';
import { h } from './dom';

/**
 * A pull request as a link that opens in a new tab without giving the page a handle on this one
 * (rel=noopener noreferrer). Only an http(s) URL becomes a link; anything else is plain text.
 */
export function pullRequestLink(pr: PullRequestView): HTMLElement {
  const el = pullRequestElement(pr);
  return el.tag === 'a' ? h('a', el.attrs, pr.label) : h('span', el.attrs, pr.label);
}
