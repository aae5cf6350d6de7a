import type { Database } from './database.js';

export type NotificationKind = 'mention' | 'share';

/** Something a user should see in the DMS: a mention in a document, or a share. */
export interface NotificationRecord {
  id: string;
  userId: string;
  kind: NotificationKind;
  nodeId: string | null;
  actorId: string | null;
  actorName: string | null;
  nodeName: string | null;
  message: string;
  link: string | null;
  createdAt: number;
  readAt: number | null;
}

interface NotificationRow {
  id: string;
  user_id: string;
  kind: NotificationKind;
  node_id: string | null;
  actor_id: string | null;
  actor_name: string | null;
  node_name: string | null;
  message: string;
  link: string | null;
  created_at: number;
  read_at: number | null;
}

function toNotification(row: NotificationRow): NotificationRecord {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    nodeId: row.node_id,
    actorId: row.actor_id,
    actorName: row.actor_name,
    nodeName: row.node_name,
    message: row.message,
    link: row.link,
    createdAt: row.created_at,
    readAt: row.read_at,
  };
}

/** Prepared statements over notifications. */
export function createNotificationRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO notifications (id, user_id, kind, node_id, actor_id, message, link, created_at)
    VALUES (@id, @userId, @kind, @nodeId, @actorId, @message, @link, @now)`);
  const recent = db.prepare(`SELECT x.*, u.display_name AS actor_name, n.name AS node_name
    FROM notifications x LEFT JOIN users u ON u.id = x.actor_id LEFT JOIN nodes n ON n.id = x.node_id
    WHERE x.user_id = ? ORDER BY x.created_at DESC, x.id DESC LIMIT ?`);
  const unread = db.prepare('SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL').pluck();
  const markAll = db.prepare('UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL');

  return {
    insert(notification: { id: string; userId: string; kind: NotificationKind; nodeId: string | null; actorId: string | null; message: string; link: string | null; now: number }): void {
      insert.run(notification);
    },
    listRecent(userId: string, limit: number): NotificationRecord[] {
      return (recent.all(userId, limit) as NotificationRow[]).map(toNotification);
    },
    countUnread(userId: string): number {
      return unread.get(userId) as number;
    },
    markAllRead(userId: string, now: number): number {
      return markAll.run(now, userId).changes;
    },
  };
}

export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
