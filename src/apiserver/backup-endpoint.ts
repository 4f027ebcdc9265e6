// GET /berth/v1/backup: a consistent, checksummed snapshot of the embedded store at one
// revision, taken without stopping writes. Served only to the admin (bearer) token; 404 when
// the server runs over a store that cannot take one (etcd has its own snapshot tooling).
import type { ServerResponse } from 'node:http';
import { snapshotBatches, type Snapshot } from '../store/snapshot.js';
import { methodNotAllowed, serverNotFound } from './http-io.js';

export const BACKUP_PATH = '/berth/v1/backup';

export type BackupSource = () => Snapshot;

export async function serveBackup(
  source: BackupSource | undefined,
  method: string,
  res: ServerResponse,
): Promise<void> {
  if (!source) throw serverNotFound();
  if (method !== 'GET') throw methodNotAllowed();
  const snapshot = source();
  const frames: Buffer[] = [];
  for await (const batch of snapshotBatches(snapshot)) frames.push(...batch);
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': frames.reduce((sum, frame) => sum + frame.length, 0),
    'x-berth-resource-version': String(snapshot.revision),
  });
  for (const frame of frames) res.write(frame);
  res.end();
}
