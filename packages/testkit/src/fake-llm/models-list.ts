/** `GET /v1/models` answer, in a shape both the OpenAI and the Anthropic clients accept. Pure. */

export function modelsListBody(ids: readonly string[], nowMs: number): Record<string, unknown> {
  const created = Math.floor(nowMs / 1000);
  const createdAt = new Date(created * 1000).toISOString();
  return {
    object: 'list',
    data: ids.map((id) => ({ id, object: 'model', type: 'model', display_name: id, created, created_at: createdAt, owned_by: 'fake-llm' })),
    has_more: false,
    first_id: ids[0] ?? null,
    last_id: ids.at(-1) ?? null,
  };
}
