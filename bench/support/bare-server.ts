/**
 * The baseline for the transfer benchmarks: a bare Node HTTP server with no framework, no checks and no
 * hashing. `GET /file` pipes a file from disk; `POST /upload` streams the body to a new file in a
 * directory and flushes it (as the app does); `GET /healthz` answers for start-up.
 * Usage: node --import tsx bench/support/bare-server.ts <port> <file> <upload-dir>
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const [port, file, uploadDir] = process.argv.slice(2) as [string, string, string];
let uploads = 0;

http
  .createServer((req, res) => {
    if (req.url === '/file') {
      res.writeHead(200, { 'Content-Length': fs.statSync(file).size, 'Content-Type': 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
      return;
    }
    if (req.url === '/upload' && req.method === 'POST') {
      uploads += 1;
      const target = path.join(uploadDir, `upload-${uploads}`);
      pipeline(req, fs.createWriteStream(target, { flush: true })).then(
        () => res.writeHead(201).end(),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(200).end('ok');
  })
  .listen(Number(port), '127.0.0.1');
