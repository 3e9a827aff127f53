/** Plausible model objects for the fake control plane's tool results. */
import type { Agent, AgentIdentity, Bead, BeadType, Mail, Rig } from '@gastown/protocol';

export class FixtureFactory {
  #seq = 0;
  constructor(private readonly now: () => number) {}

  id(prefix: string): string {
    this.#seq += 1;
    return `${prefix}_${this.#seq.toString(36).padStart(8, '0')}`;
  }

  rig(townId: string, rigId?: string): Rig {
    return {
      id: rigId ?? this.id('rig'),
      townId,
      name: 'demo-rig',
      gitUrl: 'file:///srv/git/demo-rig.git',
      defaultBranch: 'main',
      createdAt: this.now(),
      auth: { kind: 'none', appId: null, installationId: null, fingerprint: null },
      mergeStrategy: 'direct',
      provider: { kind: null, apiBaseUrl: null, repository: null, webhookSecretSet: false },
      models: { polecat: null, refinery: null },
      maxPolecats: null,
      setupCommand: null,
      setupTimeoutSeconds: 300,
      instructions: { polecat: null, refinery: null },
    };
  }

  bead(agent: AgentIdentity, fields: Partial<Bead> & { type?: BeadType } = {}): Bead {
    const now = this.now();
    return {
      id: this.id('bd'),
      townId: agent.townId,
      rigId: agent.rigId,
      type: 'issue',
      status: 'open',
      title: 'a bead',
      body: '',
      assigneeId: null,
      metadata: {},
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      priority: 2,
      labels: [],
      dependsOn: [],
      ...fields,
    };
  }

  mail(agent: AgentIdentity, to: string, subject: string, body: string): Mail {
    return {
      id: this.id('ml'),
      townId: agent.townId,
      fromAgentId: agent.id,
      toAgentId: to === 'mayor' ? agent.id : to,
      subject,
      body,
      createdAt: this.now(),
      readAt: null,
    };
  }

  agent(agent: AgentIdentity, gen: number): Agent {
    return {
      id: agent.id,
      townId: agent.townId,
      rigId: agent.rigId,
      session: null,
      role: agent.role,
      name: agent.name,
      status: 'working',
      beadId: null,
      statusLine: null,
      lastHeartbeatAt: null,
      containerInstanceId: null,
      createdAt: this.now(),
      isolation: null,
      credential: {
        gen,
        tokenIssuedAt: null,
        tokenExpiresAt: null,
        lastRefreshAt: null,
        refreshCount: 0,
        reported: null,
        reportedAt: null,
        state: 'healthy',
      },
    };
  }
}
