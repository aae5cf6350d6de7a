/**
 * Status-1 callbacks (JWT verification and a database write) from 32 concurrent keep-alive
 * connections, signed as the Document Server signs them (body token and header token).
 */
import http from 'node:http';
import jwt from 'jsonwebtoken';
import type { PageConfig } from '../test/helpers/document-server.js';
import type { Child } from './support/processes.js';

const connections = 32;
const warmUpMs = 1000;
const measureMs = 5000;

/** Throughput and latency percentiles of the measured window. */
export interface CallbackFigures {
  perSecond: number;
  p50: number;
  p99: number;
  requests: number;
}

/** Status-1 bodies for one key, each with fresh tokens in the body and in the header, as the DS sends them. */
function signedBodies(secret: string, key: string, userId: string, count: number): Array<{ body: string; header: string }> {
  return Array.from({ length: count }, (_, i) => {
    const fields = { key, status: 1, users: [userId], actions: [{ type: i % 2, userid: userId }] };
    const iat = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ ...fields, token: jwt.sign({ ...fields, iat, exp: iat + 300 }, secret) });
    return { body, header: `Bearer ${jwt.sign({ payload: fields, iat, exp: iat + 300 }, secret)}` };
  });
}

function post(agent: http.Agent, url: URL, body: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: authorization, 'User-Agent': 'Node.js/6.13' },
    });
    request.on('response', (res) => {
      let answer = '';
      res.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      res.on('end', () => (res.statusCode === 200 && answer === '{"error":0}' ? resolve(res.statusCode) : reject(new Error(`${res.statusCode} ${answer}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Opens 32 files in the editor (one per connection) and drives status-1 callbacks at them. */
export async function benchCallbacks(app: Child, bearer: string, secret: string): Promise<CallbackFigures> {
  const api = async <T>(route: string, init: RequestInit = {}) => {
    const response = await fetch(`${app.url}${route}`, { ...init, headers: { Authorization: `Bearer ${bearer}`, ...init.headers } });
    if (!response.ok) throw new Error(`${route}: ${response.status}`);
    return (await response.json()) as T;
  };
  const me = await api<{ user: { id: string } }>('/api/account');
  const targets: Array<{ url: URL; bodies: Array<{ body: string; header: string }> }> = [];
  for (let i = 0; i < connections; i += 1) {
    const created = await api<{ file: { id: string } }>('/api/files/new', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `callbacks-${i}`, type: 'docx' }) });
    const { config } = await api<{ config: PageConfig & { document: { key: string }; editorConfig: { callbackUrl: string } } }>(`/api/files/${created.file.id}/editor-config`);
    targets.push({ url: new URL(config.editorConfig.callbackUrl), bodies: signedBodies(secret, config.document.key, me.user.id, 64) });
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const started = performance.now();
  const measureFrom = started + warmUpMs;
  const stopAt = measureFrom + measureMs;
  await Promise.all(
    targets.map(async (target) => {
      for (let i = 0; performance.now() < stopAt; i += 1) {
        const { body, header } = target.bodies[i % target.bodies.length]!;
        const sent = performance.now();
        await post(agent, target.url, body, header);
        if (sent >= measureFrom) latencies.push(performance.now() - sent);
      }
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!;
  return { perSecond: latencies.length / (measureMs / 1000), p50: at(0.5), p99: at(0.99), requests: latencies.length };
}
