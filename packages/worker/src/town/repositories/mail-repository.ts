import type { Mail } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { keysetBounds, toPage, type Page, type PageRequest } from '../list-page';

type MailRow = {
  id: string;
  from_agent_id: string | null;
  to_agent_id: string;
  subject: string;
  body: string;
  created_at: number;
  read_at: number | null;
};

export interface NewMail {
  id: string;
  fromAgentId: string | null;
  toAgentId: string;
  subject: string;
  body: string;
  now: number;
}

export class MailRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  list(): Mail[] {
    return this.sql.all<MailRow>`SELECT * FROM mail ORDER BY created_at, id`.map((r) => this.toMail(r));
  }

  /** One page of `list()` (same order). */
  page(request: PageRequest): Page<Mail> {
    const { afterAt, afterId, fetch } = keysetBounds(request);
    const rows = this.sql.all<MailRow>`SELECT * FROM mail
      WHERE (${afterAt} IS NULL OR created_at > ${afterAt} OR (created_at = ${afterAt} AND id > ${afterId}))
      ORDER BY created_at, id LIMIT ${fetch}`;
    return toPage(
      rows,
      request.limit,
      (r) => ({ createdAt: r.created_at, id: r.id }),
      (r) => this.toMail(r),
    );
  }

  unread(toAgentId: string): Mail[] {
    return this.sql.all<MailRow>`SELECT * FROM mail WHERE to_agent_id = ${toAgentId} AND read_at IS NULL ORDER BY created_at, id`.map((r) => this.toMail(r));
  }

  insert(mail: NewMail): Mail {
    this.sql.run`INSERT INTO mail (id, from_agent_id, to_agent_id, subject, body, created_at, read_at)
                 VALUES (${mail.id}, ${mail.fromAgentId}, ${mail.toAgentId}, ${mail.subject}, ${mail.body}, ${mail.now}, NULL)`;
    return {
      id: mail.id,
      townId: this.townId,
      fromAgentId: mail.fromAgentId,
      toAgentId: mail.toAgentId,
      subject: mail.subject,
      body: mail.body,
      createdAt: mail.now,
      readAt: null,
    };
  }

  markRead(ids: readonly string[], now: number): void {
    for (const id of ids) this.sql.run`UPDATE mail SET read_at = ${now} WHERE id = ${id} AND read_at IS NULL`;
  }

  private toMail(row: MailRow): Mail {
    return {
      id: row.id,
      townId: this.townId,
      fromAgentId: row.from_agent_id,
      toAgentId: row.to_agent_id,
      subject: row.subject,
      body: row.body,
      createdAt: row.created_at,
      readAt: row.read_at,
    };
  }
}
