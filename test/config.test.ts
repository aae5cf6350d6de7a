import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      maxUploadBytes: 100 * 1024 * 1024,
      trustProxy: false,
    });
    expect(config.dataDir.endsWith('storage')).toBe(true);
    expect(config.initialAdmin).toBeUndefined();
  });

  it('strips a trailing slash from addresses', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://dms.example/' }).publicUrl).toBe('https://dms.example');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ MAX_UPLOAD_MB: '-1' }, 'MAX_UPLOAD_MB'],
    [{ ADMIN_USERNAME: 'admin' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ SESSION_SECRET: 'too short' }, 'SESSION_SECRET'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ JWT_HEADER: 'Bad Header' }, 'JWT_HEADER'],
    [{ DOCUMENT_SERVER_URL: 'not a url' }, 'DOCUMENT_SERVER_URL'],
  ])('refuses %j and names %s', (env, variable) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message.startsWith(variable)).toBe(true);
  });
});
