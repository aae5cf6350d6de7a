import type { Database } from './database.js';

export type Role = 'admin' | 'user';

/** A user account as the app sees it (the password hash stays in the repository's callers that need it). */
export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UserWithPassword extends User {
  passwordHash: string;
}

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  role: Role;
  disabled: number;
  created_at: number;
  updated_at: number;
}

function toUser(row: UserRow): UserWithPassword {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    role: row.role,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Prepared statements over the users table. */
export function createUserRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO users
    (id, username, display_name, password_hash, role, disabled, created_at, updated_at)
    VALUES (@id, @username, @displayName, @passwordHash, @role, 0, @now, @now)`);
  const byId = db.prepare('SELECT * FROM users WHERE id = ?');
  const byUsername = db.prepare('SELECT * FROM users WHERE username = ?');
  const all = db.prepare('SELECT * FROM users ORDER BY username');
  const count = db.prepare('SELECT count(*) FROM users').pluck();
  const setPassword = db.prepare(
    'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?',
  );
  const setDisabled = db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?');
  const setProfile = db.prepare(
    'UPDATE users SET display_name = ?, role = ?, updated_at = ? WHERE id = ?',
  );
  const countActiveAdmins = db
    .prepare("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0")
    .pluck();

  return {
    insert(user: { id: string; username: string; displayName: string; passwordHash: string; role: Role; now: number }): void {
      insert.run(user);
    },
    findById(id: string): UserWithPassword | undefined {
      const row = byId.get(id) as UserRow | undefined;
      return row && toUser(row);
    },
    findByUsername(username: string): UserWithPassword | undefined {
      const row = byUsername.get(username) as UserRow | undefined;
      return row && toUser(row);
    },
    listAll(): UserWithPassword[] {
      return (all.all() as UserRow[]).map(toUser);
    },
    countAll(): number {
      return count.get() as number;
    },
    countActiveAdmins(): number {
      return countActiveAdmins.get() as number;
    },
    updatePassword(id: string, passwordHash: string, now: number): void {
      setPassword.run(passwordHash, now, id);
    },
    updateDisabled(id: string, disabled: boolean, now: number): void {
      setDisabled.run(disabled ? 1 : 0, now, id);
    },
    updateProfile(id: string, displayName: string, role: Role, now: number): void {
      setProfile.run(displayName, role, now, id);
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
