import { AGENT_API, TOOL_NAMES, USER_API, WEBHOOK_ROUTE } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers';

const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z]+)/g, '{$1}');

/** Every route the protocol names, with its method(s). */
const EXPECTED: [string, string][] = [
  ['post', USER_API.createUserToken],
  ['get', USER_API.towns],
  ['post', USER_API.towns],
  ['get', USER_API.town],
  ['patch', USER_API.townConfig],
  ['get', USER_API.rigs],
  ['post', USER_API.rigs],
  ['patch', USER_API.rig],
  ['get', USER_API.agents],
  ['post', USER_API.stopAgent],
  ['post', USER_API.reissueCredentials],
  ['post', USER_API.nudgeAgent],
  ['get', USER_API.beads],
  ['post', USER_API.beads],
  ['get', USER_API.bead],
  ['patch', USER_API.bead],
  ['delete', USER_API.bead],
  ['post', USER_API.closeBead],
  ['post', USER_API.reopenBead],
  ['get', USER_API.convoys],
  ['post', USER_API.convoys],
  ['get', USER_API.convoy],
  ['patch', USER_API.convoy],
  ['delete', USER_API.convoy],
  ['get', USER_API.mail],
  ['post', USER_API.mayorMessages],
  ['get', USER_API.mayorMessages],
  ['delete', USER_API.mayorSession],
  ['get', USER_API.events],
  ['get', USER_API.eventStream],
  ['get', USER_API.usage],
  ['get', USER_API.models],
  ['post', USER_API.restartContainer],
  ['delete', USER_API.rig],
  ['delete', USER_API.town],
  ['post', USER_API.restartAgent],
  ['get', USER_API.escalations],
  ['post', USER_API.acknowledgeEscalation],
  ['post', USER_API.resolveEscalation],
  ['post', AGENT_API.refresh],
  ['post', AGENT_API.heartbeat],
  ['post', AGENT_API.events],
  ['post', AGENT_API.completion],
  ['post', AGENT_API.mergeResult],
  ['post', AGENT_API.gitToken],
  ['get', AGENT_API.session],
  ['put', AGENT_API.session],
  ...TOOL_NAMES.map((tool): [string, string] => ['post', AGENT_API.tool.replace(':tool', tool)]),
  ['get', '/health'],
  ['post', WEBHOOK_ROUTE],
];

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route with its schemas', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    for (const [method, path] of EXPECTED) {
      const op = doc.paths[toOpenApiPath(path)]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
      const ok = op.responses['200'] ?? op.responses['201'] ?? op.responses['202'];
      expect(ok, `${method} ${path} success response`).toBeDefined();
    }
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m} ${p}`));
    expect(documented.sort()).toEqual(EXPECTED.map(([m, p]) => `${m} ${toOpenApiPath(p)}`).sort());
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminSecret', 'agentToken', 'refreshCredential', 'userToken']);
  });

  it('documents request bodies from the validating schemas (strict objects, enums, patterns)', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const sling = doc.paths['/agent/towns/{townId}/agents/{agentId}/tools/sling'].post;
    const schema = sling.requestBody.content['application/json'].schema;
    expect(sling.requestBody.required).toBe(true);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['rigId', 'title']));
    expect(schema.properties.rigId.pattern).toBeTruthy();
    const heartbeat = doc.paths['/agent/towns/{townId}/agents/{agentId}/heartbeat'].post.requestBody.content['application/json'].schema;
    expect(heartbeat.properties.activity.enum).toEqual(['working', 'waiting']);
    const config = doc.paths['/api/towns/{townId}/config'].patch;
    expect(config.responses['400'].content['application/json'].schema.properties.error).toBeDefined();
    expect(config.security).toEqual([{ userToken: [] }]);
  });
});
