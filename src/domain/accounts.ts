import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Database } from '../data/database.js';
import type { ApiToken, ApiTokenRepository } from '../data/api-token-repository.js';
import type { NodeRepository } from '../data/node-repository.js';
import type { SessionRepository } from '../data/session-repository.js';
import type { Role, User, UserRepository, UserWithPassword } from '../data/user-repository.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnauthenticatedError,
  ValidationError,
} from '../errors.js';
import { hashToken, newId, newSecretToken } from '../ids.js';
import { hashPassword, unusablePasswordHash, verifyPassword } from './passwords.js';

export const usernameSchema = z
  .string({ message: 'The username must be text.' })
  .trim()
  .min(1, 'The username must not be empty.')
  .max(64, 'The username must be at most 64 characters.')
  .regex(/^[A-Za-z0-9._@-]+$/, 'The username may contain only letters, digits and . _ @ -');
export const passwordSchema = z
  .string({ message: 'The password must be text.' })
  .min(8, 'The password must be at least 8 characters.')
  .max(1024, 'The password must be at most 1024 characters.');
export const displayNameSchema = z
  .string({ message: 'The display name must be text.' })
  .trim()
  .max(128, 'The display name must be at most 128 characters.');
export const roleSchema = z.enum(['admin', 'user'], { message: 'The role must be admin or user.' });

export const newUserSchema = z.object({
  username: usernameSchema,
  displayName: displayNameSchema.optional(),
  password: passwordSchema,
  role: roleSchema.default('user'),
});
export type NewUser = z.input<typeof newUserSchema>;

/** A new browser session: the cookie value is returned once and only its hash is stored. */
export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: number;
}

const sessionLifetimeMs = 14 * 24 * 3600 * 1000;
const sessionRefreshAfterMs = 24 * 3600 * 1000;
const apiTokenPrefix = 'ooc_';

interface AccountDeps {
  db: Database;
  clock: Clock;
  users: UserRepository;
  sessions: SessionRepository;
  apiTokens: ApiTokenRepository;
  nodes: NodeRepository;
}

/** Strips the password hash from a user record. */
export function toPublicUser(user: UserWithPassword): User {
  const { passwordHash: _ignored, ...rest } = user;
  return rest;
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ValidationError(issue.message, issue.path.join('.') || undefined);
  }
  return result.data;
}

/** Accounts, passwords, sessions, personal API tokens, and the login throttle. */
export class AccountService {
  // Failed sign-ins are slowed down: after 5 failures for one account within 15 minutes that account
  // waits a minute between tries; after 30 failures from one address that address waits 15 minutes.
  // (A limiter blocks once more than `points` are consumed, so points = failures allowed - 1.)
  private readonly throttles = [
    { limiter: new RateLimiterMemory({ points: 4, duration: 900, blockDuration: 60 }), keyOf: (username: string) => `account:${username}` },
    { limiter: new RateLimiterMemory({ points: 29, duration: 900, blockDuration: 900 }), keyOf: (_: string, address: string) => `address:${address}` },
  ];

  constructor(private readonly deps: AccountDeps) {}

  isSetupNeeded(): boolean {
    return this.deps.users.countAll() === 0;
  }

  /** Creates a user and their home folder in one transaction. */
  async createUser(input: unknown): Promise<User> {
    const data = parse(newUserSchema, input);
    const passwordHash = await hashPassword(data.password);
    const { users, nodes, clock, db } = this.deps;
    const id = newId();
    const now = clock.now();
    db.transaction(() => {
      if (users.findByUsername(data.username)) {
        throw new ConflictError(`The username "${data.username}" is already taken.`, 'username_taken');
      }
      users.insert({
        id,
        username: data.username,
        displayName: data.displayName || data.username,
        passwordHash,
        role: data.role,
        now,
      });
      nodes.insert({ id: newId(), kind: 'folder', parentId: null, ownerId: id, name: 'Home', now });
    })();
    return toPublicUser(users.findById(id)!);
  }

  /** Creates the first admin; refused once any user exists. */
  async createFirstAdmin(input: Omit<NewUser, 'role'>): Promise<User> {
    if (!this.isSetupNeeded()) throw new ConflictError('The first admin already exists; sign in instead.');
    return this.createUser({ ...parse(newUserSchema.omit({ role: true }), input), role: 'admin' });
  }

  /** Checks a username and password, slowing down repeated failures per account and per address. */
  async authenticate(usernameInput: unknown, password: unknown, address: string): Promise<User> {
    const username = typeof usernameInput === 'string' ? usernameInput.trim().toLowerCase() : '';
    await this.refuseWhenThrottled(username, address);
    const user = username ? this.deps.users.findByUsername(username) : undefined;
    const matches =
      typeof password === 'string' &&
      (await verifyPassword(password, user?.passwordHash ?? unusablePasswordHash)) &&
      user !== undefined;
    if (!matches) {
      await this.recordFailure(username, address);
      throw new UnauthenticatedError('Wrong username or password.');
    }
    if (user.disabled) throw new ForbiddenError('This account is disabled; ask an admin to enable it.');
    await this.throttles[0]!.limiter.delete(this.throttles[0]!.keyOf(username, address));
    return toPublicUser(user);
  }

  private async refuseWhenThrottled(username: string, address: string): Promise<void> {
    const states = await Promise.all(
      this.throttles.map(({ limiter, keyOf }) => limiter.get(keyOf(username, address))),
    );
    const waits = states
      .filter((state, index): state is RateLimiterRes =>
        state !== null && state.consumedPoints > this.throttles[index]!.limiter.points,
      )
      .map((state) => state.msBeforeNext)
      .filter((ms) => ms > 0);
    if (waits.length === 0) return;
    const seconds = Math.ceil(Math.max(...waits) / 1000);
    throw new TooManyRequestsError(
      `Too many failed sign-ins; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
      seconds,
    );
  }

  private async recordFailure(username: string, address: string): Promise<void> {
    await Promise.all(
      this.throttles.map(({ limiter, keyOf }) =>
        // consume() rejects once the limit is passed; that rejection is the block we want, not an error.
        limiter.consume(keyOf(username, address)).catch(() => undefined),
      ),
    );
  }

  /** Opens a session for a signed-in user. */
  createSession(userId: string): NewSession {
    const token = newSecretToken();
    const csrfToken = newSecretToken();
    const now = this.deps.clock.now();
    const expiresAt = now + sessionLifetimeMs;
    this.deps.sessions.insert({ tokenHash: hashToken(token), userId, csrfToken, createdAt: now, expiresAt });
    return { token, csrfToken, expiresAt };
  }

  /** The live session and its (enabled) user for a cookie value, sliding its expiry forward. */
  findSession(token: string): { user: User; csrfToken: string } | undefined {
    const now = this.deps.clock.now();
    const tokenHash = hashToken(token);
    const session = this.deps.sessions.findLive(tokenHash, now);
    if (!session) return undefined;
    const user = this.deps.users.findById(session.userId);
    if (!user || user.disabled) return undefined;
    if (session.expiresAt - now < sessionLifetimeMs - sessionRefreshAfterMs) {
      this.deps.sessions.updateExpiry(tokenHash, now + sessionLifetimeMs);
    }
    return { user: toPublicUser(user), csrfToken: session.csrfToken };
  }

  endSession(token: string): void {
    this.deps.sessions.delete(hashToken(token));
  }

  /** The user behind a personal API token, if the token is live. */
  findUserByApiToken(token: string): User | undefined {
    if (!token.startsWith(apiTokenPrefix)) return undefined;
    const record = this.deps.apiTokens.findByHash(hashToken(token));
    if (!record) return undefined;
    const user = this.deps.users.findById(record.userId);
    if (!user || user.disabled) return undefined;
    this.deps.apiTokens.updateLastUsed(record.id, this.deps.clock.now());
    return toPublicUser(user);
  }

  /** Issues a personal API token; the secret is returned only here. */
  issueApiToken(userId: string, nameInput: unknown): { token: string; record: ApiToken } {
    const name = parse(
      z.string({ message: 'The token name must be text.' }).trim().min(1, 'Give the token a name.').max(100, 'The token name must be at most 100 characters.'),
      nameInput,
    );
    const token = apiTokenPrefix + newSecretToken();
    const record = { id: newId(), userId, name, tokenHash: hashToken(token), createdAt: this.deps.clock.now() };
    this.deps.apiTokens.insert(record);
    return { token, record: { id: record.id, userId, name, createdAt: record.createdAt, lastUsedAt: null } };
  }

  listApiTokens(userId: string): ApiToken[] {
    return this.deps.apiTokens.listForUser(userId);
  }

  revokeApiToken(userId: string, tokenId: string): void {
    if (!this.deps.apiTokens.deleteForUser(tokenId, userId)) throw new NotFoundError('No such token.');
  }

  listUsers(): User[] {
    return this.deps.users.listAll().map(toPublicUser);
  }

  getUser(id: string): User {
    const user = this.deps.users.findById(id);
    if (!user) throw new NotFoundError('No such user.');
    return toPublicUser(user);
  }

  /** An admin sets a new password; the user's sessions end and their API tokens are revoked. */
  async resetPassword(userId: string, passwordInput: unknown): Promise<void> {
    const password = parse(passwordSchema, passwordInput);
    this.getUser(userId);
    const passwordHash = await hashPassword(password);
    this.deps.db.transaction(() => {
      this.deps.users.updatePassword(userId, passwordHash, this.deps.clock.now());
      this.deps.sessions.deleteForUser(userId);
      // A reset usually follows a compromise: every credential of the account goes.
      this.deps.apiTokens.deleteAllForUser(userId);
    })();
  }

  /** A user changes their own password after proving the current one; their other sessions end. */
  async changeOwnPassword(userId: string, current: unknown, next: unknown, keepSessionToken?: string): Promise<void> {
    const user = this.deps.users.findById(userId);
    if (!user) throw new NotFoundError('No such user.');
    const password = parse(passwordSchema, next);
    if (typeof current !== 'string' || !(await verifyPassword(current, user.passwordHash))) {
      throw new ValidationError('The current password is wrong.', 'currentPassword');
    }
    const passwordHash = await hashPassword(password);
    this.deps.db.transaction(() => {
      this.deps.users.updatePassword(userId, passwordHash, this.deps.clock.now());
      if (keepSessionToken) this.deps.sessions.deleteForUserExcept(userId, hashToken(keepSessionToken));
      else this.deps.sessions.deleteForUser(userId);
    })();
  }

  /** Enables or disables an account; an admin cannot disable themselves or the last admin. */
  setDisabled(actor: User, userId: string, disabled: boolean): void {
    const target = this.getUser(userId);
    if (disabled && target.id === actor.id) throw new ConflictError('You cannot disable your own account.');
    this.deps.db.transaction(() => {
      this.deps.users.updateDisabled(userId, disabled, this.deps.clock.now());
      if (disabled) this.deps.sessions.deleteForUser(userId);
    })();
  }

  /** Changes a user's display name and role; the last active admin keeps the admin role. */
  updateProfile(actor: User, userId: string, input: { displayName?: unknown; role?: unknown }): User {
    const target = this.getUser(userId);
    const displayName = input.displayName === undefined ? target.displayName : parse(displayNameSchema, input.displayName) || target.username;
    const role: Role = input.role === undefined ? target.role : parse(roleSchema, input.role);
    if (target.role === 'admin' && role !== 'admin' && target.id === actor.id) {
      throw new ConflictError('You cannot remove your own admin role.');
    }
    this.deps.users.updateProfile(userId, displayName, role, this.deps.clock.now());
    return this.getUser(userId);
  }
}
