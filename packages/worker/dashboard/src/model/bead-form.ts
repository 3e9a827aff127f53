/**
 * The bead editor's requests (create, edit) from what the form holds, and what a bead offers
 * (close, reopen or requeue, delete) given its status. Pure.
 */
import type { Bead, CreateBeadRequest, UpdateBeadRequest } from '@gastown/protocol';
import { oneLine } from './agents-view';

export interface BeadFormValues {
  rigId: string;
  title: string;
  body: string;
  /** The priority select's value: "0" … "4". */
  priority: string;
  /** Labels as typed: separated by commas or spaces. */
  labels: string;
  /** Ids of the beads this one depends on (checked in the form). */
  dependsOn: readonly string[];
}

/** Labels from the text field: split on commas and spaces, empty parts dropped, each once (the server checks the format). */
export function parseLabels(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((l) => l !== ''))];
}

function priorityOf(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isInteger(n) ? n : undefined;
}

/** `POST …/beads`: what the form says (an empty body, no labels and no dependencies are left out). */
export function createBeadRequest(v: BeadFormValues): CreateBeadRequest {
  const req: CreateBeadRequest = { rigId: v.rigId, title: v.title.trim() };
  if (v.body.trim() !== '') req.body = v.body;
  const priority = priorityOf(v.priority);
  if (priority !== undefined) req.priority = priority;
  const labels = parseLabels(v.labels);
  if (labels.length) req.labels = labels;
  if (v.dependsOn.length) req.dependsOn = [...new Set(v.dependsOn)];
  return req;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** `PATCH …/beads/:beadId`: only the fields that differ from the bead; null when nothing changed. */
export function updateBeadRequest(bead: Bead, v: BeadFormValues): UpdateBeadRequest | null {
  const patch: UpdateBeadRequest = {};
  if (v.title.trim() !== bead.title) patch.title = v.title.trim();
  if (v.body !== bead.body) patch.body = v.body;
  const priority = priorityOf(v.priority);
  if (priority !== undefined && priority !== bead.priority) patch.priority = priority;
  const labels = parseLabels(v.labels);
  if (!sameList(labels, bead.labels)) patch.labels = labels;
  const deps = [...new Set(v.dependsOn)];
  if (!sameList([...deps].sort(), [...bead.dependsOn].sort())) patch.dependsOn = deps;
  if (v.rigId !== '' && v.rigId !== bead.rigId) patch.rigId = v.rigId;
  return Object.keys(patch).length ? patch : null;
}

/** The reason of a bead's last failed attempt (`metadata.lastFailure.reason`), while it matters: the bead is failed, or open again after a failure. */
export function lastFailureReason(bead: Pick<Bead, 'status' | 'metadata'>): string | null {
  if (bead.status !== 'failed' && bead.status !== 'open') return null;
  const failure = bead.metadata.lastFailure;
  if (failure === null || typeof failure !== 'object') return null;
  const reason = (failure as Record<string, unknown>).reason;
  return typeof reason === 'string' && reason.trim() !== '' ? oneLine(reason) : null;
}

export interface BeadActions {
  edit: boolean;
  close: boolean;
  /** "Requeue" for a failed bead (fresh attempts), "Reopen" for a closed one, null otherwise. */
  reopen: 'Requeue' | 'Reopen' | null;
  delete: boolean;
}

/** What a user may do with a bead (the server has the last word; these are the cases it accepts). */
export function beadActions(bead: Pick<Bead, 'type' | 'status'>): BeadActions {
  if (bead.type !== 'issue') return { edit: false, close: false, reopen: null, delete: false };
  return {
    edit: true,
    close: bead.status === 'open' || bead.status === 'in_progress' || bead.status === 'failed',
    reopen: bead.status === 'failed' ? 'Requeue' : bead.status === 'closed' ? 'Reopen' : null,
    delete: bead.status !== 'in_progress' && bead.status !== 'in_review',
  };
}

/** Dependencies of a bead that are not closed yet (it is not dispatched until there are none). */
export function openDependencies(bead: Pick<Bead, 'dependsOn'>, byId: ReadonlyMap<string, Pick<Bead, 'status'>>): string[] {
  return bead.dependsOn.filter((id) => byId.get(id)?.status !== 'closed');
}
