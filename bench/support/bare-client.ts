/**
 * The baseline for the save benchmark: a bare Node client that streams a URL to a file and flushes it,
 * printing the milliseconds it took. Usage: node --import tsx bench/support/bare-client.ts <url> <file>
 */
import fs from 'node:fs';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';

const [url, target] = process.argv.slice(2) as [string, string];
const started = performance.now();
const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on('error', reject));
if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`);
await pipeline(response, fs.createWriteStream(target, { flush: true }));
process.stdout.write(String(performance.now() - started));
