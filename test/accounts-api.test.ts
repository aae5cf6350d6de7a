import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type BrowserSession, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let admin: BrowserSession;

beforeEach(async () => {
  t = createTestApp();
  admin = await t.signedInUser('root', 'admin');
});
afterEach(() => t.close());

function as(session: BrowserSession, method: 'get' | 'post' | 'patch' | 'delete', url: string) {
  return t.request[method](url).set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken);
}

describe('personal API tokens', () => {
  it('issues a token for a username and password that then works as a Bearer token', async () => {
    await t.createUser('carol');
    const issued = await t.request.post('/api/auth/token').send({ username: 'carol', password: 'correct horse battery', name: 'backup script' });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^ooc_[A-Za-z0-9_-]{43}$/);
    expect(issued.body.tokenInfo.name).toBe('backup script');

    const bearer = { Authorization: `Bearer ${issued.body.token}` };
    const upload = await t.request.post('/api/files').set(bearer).attach('file', Buffer.from('via script'), 'script.txt');
    expect(upload.status).toBe(201);
    const listing = await t.request.get('/api/files').set(bearer);
    expect(listing.body.items.map((item: { name: string }) => item.name)).toEqual(['script.txt']);

    const stored = t.db.prepare('SELECT token_hash FROM api_tokens').pluck().get() as string;
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(issued.body.token.slice(4));
  });

  it('refuses a wrong password with 401 and a malformed request with 400', async () => {
    await t.createUser('carol');
    const wrong = await t.request.post('/api/auth/token').send({ username: 'carol', password: 'nope nope nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('Wrong username or password.');
    const unknown = await t.request.post('/api/auth/token').send({ username: 'nobody', password: 'whatever123' });
    expect(unknown.body.error.message).toBe('Wrong username or password.');
    const malformed = await t.request.post('/api/auth/token').send({ username: ['carol'], password: 1 });
    expect(malformed.status).toBe(400);
    expect(t.db.prepare('SELECT count(*) FROM api_tokens').pluck().get()).toBe(0);
  });

  it('slows down repeated failures for one account with 429 and Retry-After', async () => {
    await t.createUser('carol');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await t.request.post('/api/auth/token').send({ username: 'carol', password: `guess-${attempt}-x` });
      expect(response.status).toBe(401);
    }
    const blocked = await t.request.post('/api/auth/token').send({ username: 'carol', password: 'correct horse battery' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body.error.message).toMatch(/try again in \d+ seconds?/);
    // Another account from the same address is not blocked by carol's failures.
    await t.createUser('dave');
    const other = await t.request.post('/api/auth/token').send({ username: 'dave', password: 'correct horse battery' });
    expect(other.status).toBe(201);
  });

  it('revokes a token so it no longer works, and lists tokens without their secrets', async () => {
    const created = await as(admin, 'post', '/api/account/tokens').send({ name: 'laptop' });
    expect(created.status).toBe(201);
    const list = await as(admin, 'get', '/api/account/tokens');
    expect(list.body.tokens).toEqual([expect.objectContaining({ id: created.body.tokenInfo.id, name: 'laptop', lastUsedAt: null })]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);

    const bearer = { Authorization: `Bearer ${created.body.token}` };
    expect((await t.request.get('/api/files').set(bearer)).status).toBe(200);
    expect((await as(admin, 'delete', `/api/account/tokens/${created.body.tokenInfo.id}`)).status).toBe(204);
    const after = await t.request.get('/api/files').set(bearer);
    expect(after.status).toBe(401);
    expect(after.body.error.message).toContain('revoked');
  });

  it("cannot revoke another user's token", async () => {
    const bob = await t.signedInUser('bob');
    const created = await as(admin, 'post', '/api/account/tokens').send({ name: 'laptop' });
    expect((await as(bob, 'delete', `/api/account/tokens/${created.body.tokenInfo.id}`)).status).toBe(404);
    expect((await t.request.get('/api/files').set({ Authorization: `Bearer ${created.body.token}` })).status).toBe(200);
  });

  it('refuses a made-up bearer token with 401', async () => {
    const response = await t.request.get('/api/files').set('Authorization', 'Bearer ooc_made-up');
    expect(response.status).toBe(401);
  });
});

describe('user management', () => {
  it('lets an admin add a user, who then has a home folder and can sign in', async () => {
    const created = await as(admin, 'post', '/api/users').send({ username: 'erin', displayName: 'Erin E.', password: 'a long password', role: 'user' });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ username: 'erin', displayName: 'Erin E.', role: 'user', disabled: false });
    expect(JSON.stringify(created.body)).not.toContain('password');
    const token = await t.request.post('/api/auth/token').send({ username: 'ERIN', password: 'a long password' });
    expect(token.status).toBe(201);
    const home = await t.request.get('/api/folders/home').set('Authorization', `Bearer ${token.body.token}`);
    expect(home.body.folder.name).toBe('Home');
  });

  it.each([
    [{ username: 'root', password: 'a long password' }, 409, 'already taken'],
    [{ username: 'bad name', password: 'a long password' }, 400, 'letters, digits'],
    [{ username: 'shorty', password: 'short' }, 400, 'at least 8'],
    [{ username: 'x', password: 'a long password', role: 'owner' }, 400, 'admin or user'],
    [{ password: 'a long password' }, 400, 'username'],
  ])('refuses the new user %j', async (body, status, message) => {
    const before = t.db.prepare('SELECT count(*) FROM users').pluck().get();
    const response = await as(admin, 'post', '/api/users').send(body);
    expect(response.status).toBe(status);
    expect(response.body.error.message).toContain(message);
    expect(t.db.prepare('SELECT count(*) FROM users').pluck().get()).toBe(before);
  });

  it('disables a user: their sessions and tokens stop working until enabled again', async () => {
    const bob = await t.signedInUser('bob');
    const token = await t.request.post('/api/auth/token').send({ username: 'bob', password: 'correct horse battery' });
    const disabled = await as(admin, 'patch', `/api/users/${bob.user.id}`).send({ disabled: true });
    expect(disabled.body.user.disabled).toBe(true);
    expect((await as(bob, 'get', '/api/files')).status).toBe(401);
    expect((await t.request.get('/api/files').set('Authorization', `Bearer ${token.body.token}`)).status).toBe(401);
    const signIn = await t.request.post('/api/auth/token').send({ username: 'bob', password: 'correct horse battery' });
    expect(signIn.status).toBe(403);
    expect(signIn.body.error.message).toContain('disabled');

    await as(admin, 'patch', `/api/users/${bob.user.id}`).send({ disabled: false });
    expect((await t.request.get('/api/files').set('Authorization', `Bearer ${token.body.token}`)).status).toBe(200);
  });

  it('resets a password: the old one stops working and sessions end', async () => {
    const bob = await t.signedInUser('bob');
    const bobToken = (await t.request.post('/api/auth/token').send({ username: 'bob', password: 'correct horse battery' })).body.token;
    expect((await as(admin, 'post', `/api/users/${bob.user.id}/password`).send({ password: 'brand new secret' })).status).toBe(204);
    expect((await as(bob, 'get', '/api/files')).status).toBe(401);
    // A reset revokes the account's API tokens too.
    expect((await t.request.get('/api/files').set('Authorization', `Bearer ${bobToken}`)).status).toBe(401);
    expect((await t.request.post('/api/auth/token').send({ username: 'bob', password: 'correct horse battery' })).status).toBe(401);
    expect((await t.request.post('/api/auth/token').send({ username: 'bob', password: 'brand new secret' })).status).toBe(201);
    expect((await as(admin, 'post', `/api/users/${bob.user.id}/password`).send({ password: 'short' })).status).toBe(400);
  });

  it('keeps an admin from disabling themselves or dropping their own admin role', async () => {
    expect((await as(admin, 'patch', `/api/users/${admin.user.id}`).send({ disabled: true })).status).toBe(409);
    expect((await as(admin, 'patch', `/api/users/${admin.user.id}`).send({ role: 'user' })).status).toBe(409);
    expect((await as(admin, 'get', '/api/users')).body.users[0]).toMatchObject({ role: 'admin', disabled: false });
  });

  it('answers 403 to a non-admin and 404 for an unknown user', async () => {
    const bob = await t.signedInUser('bob');
    expect((await as(bob, 'get', '/api/users')).status).toBe(403);
    expect((await as(bob, 'post', '/api/users').send({ username: 'x', password: 'a long password' })).status).toBe(403);
    expect((await as(bob, 'patch', `/api/users/${admin.user.id}`).send({ disabled: true })).status).toBe(403);
    expect((await as(admin, 'patch', '/api/users/nobody').send({ disabled: true })).status).toBe(404);
  });

  it('lets a user change their own password after giving the current one', async () => {
    const bob = await t.signedInUser('bob');
    const wrong = await as(bob, 'post', '/api/account/password').send({ currentPassword: 'wrong one', newPassword: 'another long one' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toContain('current password');
    const elsewhere = t.sessionFor(bob.user);
    const ok = await as(bob, 'post', '/api/account/password').send({ currentPassword: 'correct horse battery', newPassword: 'another long one' });
    expect(ok.status).toBe(204);
    // This session goes on; the user's other sessions end.
    expect((await as(bob, 'get', '/api/files')).status).toBe(200);
    expect((await as(elsewhere, 'get', '/api/files')).status).toBe(401);
    expect((await t.request.post('/api/auth/token').send({ username: 'bob', password: 'another long one' })).status).toBe(201);
  });
});
