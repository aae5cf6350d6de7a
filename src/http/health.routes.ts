import { Router } from 'express';
import type { Database } from '../data/database.js';
import type { FileStore } from '../storage/file-store.js';

/** `GET /healthz`: ok when the database answers and the data directory can be written. */
export function healthRoutes(db: Database, store: FileStore): Router {
  const router = Router();
  router.get('/healthz', async (req, res) => {
    const problems: string[] = [];
    try {
      db.prepare('SELECT 1').get();
    } catch (error) {
      req.log.error({ err: error }, 'health check: database');
      problems.push('database');
    }
    try {
      await store.probe();
    } catch (error) {
      req.log.error({ err: error }, 'health check: data directory');
      problems.push('storage');
    }
    res.set('Cache-Control', 'no-store');
    if (problems.length === 0) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'error', failing: problems });
  });
  return router;
}
