// `berth store verify|repair|backup|restore`: offline checks and repair of an embedded data
// directory, and backups taken from a running berth through its API.
import { rename, writeFile } from 'node:fs/promises';
import { inspectDataDir, countObjects, type Damage } from '../../store/inspection.js';
import { lockHolder } from '../../store/lock.js';
import { repairDataDir } from '../../store/repair.js';
import { restoreDataDir, verifyBackup } from '../../store/backup.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect } from '../context.js';
import { UsageError } from '../io.js';
import { resolveDataDir } from '../paths.js';

const BACKUP_PATH = '/berth/v1/backup';

const options = {
  ...clientOptions,
  'data-dir': { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

export const STORE_USAGE =
  'check, repair, back up and restore the embedded store: verify|repair --data-dir D | backup -o FILE [--kubeconfig K] | restore FILE --data-dir NEW';

export async function runStore(ctx: CommandContext, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseCommand(`store ${action ?? ''}`.trim(), rest, options);
  const dataDir = resolveDataDir(values['data-dir'], ctx.env, ctx.home);
  const out = ctx.io.stdout;
  switch (action) {
    case 'verify':
      return verify(ctx, dataDir);
    case 'repair': {
      await refuseWhileRunning(dataDir);
      const report = await repairDataDir(dataDir, ctx.now());
      if (!report.quarantine) {
        out.write(`no damage found in ${dataDir}: nothing to repair\n`);
        return 0;
      }
      out.write(report.damage.map((d) => `damaged: ${describeDamage(d)}\n`).join(''));
      out.write(`copied the damaged directory's files to ${report.quarantine}\n`);
      out.write(
        `rebuilt ${dataDir}: ${report.objects} objects at resourceVersion ${report.revision} from ${report.keptRecords} log records that verify\n`,
      );
      out.write(`objects that may have lost their latest version: ${report.lostObjects.length}\n`);
      out.write(report.lostObjects.map((ref) => `  ${ref}\n`).join(''));
      if (report.goneObjects.length > 0) {
        out.write(
          `of these, the rebuilt store holds no version at all of ${report.goneObjects.length} (their only readable copy was in the damaged bytes)\n`,
        );
      }
      if (report.unknownAfterRevision !== undefined) {
        out.write(
          `the end of the log is damaged and berth was not stopped cleanly: records after resourceVersion ${report.unknownAfterRevision} may be lost, and which objects they held cannot be known\n`,
        );
      }
      if (report.unnamedRevisions.length > 0) {
        out.write(
          `revisions lost whose object could not be named: ${report.unnamedRevisions.length} (${report.unnamedRevisions.join(', ')})\n`,
        );
      }
      return 0;
    }
    case 'backup': {
      if (!values.output) throw new UsageError('store backup: -o FILE is required');
      const client = await connect(ctx, values);
      const bytes = await client.getBytes(BACKUP_PATH);
      const { revision, objects } = verifyBackup(bytes, `the backup from ${client.server}`);
      await writeFile(`${values.output}.tmp`, bytes, { mode: 0o600 });
      await rename(`${values.output}.tmp`, values.output);
      out.write(`backup of ${objects} objects at resourceVersion ${revision} written to ${values.output}\n`);
      return 0;
    }
    case 'restore': {
      const file = positionals[0];
      if (!file || !values['data-dir']) throw new UsageError('store restore: expected FILE --data-dir NEW');
      const { revision, objects } = await restoreDataDir(file, values['data-dir']);
      out.write(`restored ${objects} objects at resourceVersion ${revision} into ${values['data-dir']}\n`);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError(`store: expected verify, repair, backup or restore (${STORE_USAGE})`);
  }
}

async function refuseWhileRunning(dataDir: string): Promise<void> {
  const holder = await lockHolder(dataDir);
  if (holder !== undefined) {
    throw new Error(`data directory ${dataDir} is in use by process ${holder}: stop berth first`);
  }
}

function describeDamage(d: Damage): string {
  const bytes = d.bytes > 0 ? ` (${d.bytes} bytes)` : '';
  return (
    `${d.file} at byte ${d.offset}${bytes}: ${d.problem}; last good resourceVersion ${d.lastGoodRevision};` +
    ` ${d.validRecordsAfter} valid record(s) follow`
  );
}

async function verify(ctx: CommandContext, dataDir: string): Promise<number> {
  await refuseWhileRunning(dataDir);
  const inspection = await inspectDataDir(dataDir);
  const out = ctx.io.stdout;
  const { snapshot, segments, tornTail, damage } = inspection;
  out.write(`data directory: ${dataDir}\n`);
  out.write(
    snapshot
      ? `snapshot: ${snapshot.name} at resourceVersion ${snapshot.revision}, ${snapshot.entries.length} objects${snapshot.problem ? ` (DAMAGED: ${snapshot.problem})` : ''}\n`
      : 'snapshot: none\n',
  );
  const records = segments.reduce((sum, s) => sum + s.records, 0);
  out.write(`log: ${segments.length} segment(s), ${records} records\n`);
  out.write(`newest resourceVersion: ${inspection.newestRevision}\n`);
  out.write('objects per kind:\n');
  const counts = [...countObjects(inspection)].sort(([a], [b]) => (a < b ? -1 : 1));
  out.write(counts.map(([kind, n]) => `  ${kind.replace(/^\//, '')}\t${n}\n`).join('') || '  (none)\n');
  if (tornTail) {
    out.write(
      `torn tail: ${tornTail.file} at byte ${tornTail.offset}, ${tornTail.bytes} bytes of an unfinished write (dropped at the next start)\n`,
    );
  }
  if (damage.length === 0) {
    out.write('damage: none\n');
    return 0;
  }
  out.write(`damage: ${damage.length} place(s)\n`);
  out.write(damage.map((d) => `  ${describeDamage(d)}\n`).join(''));
  out.write(`repair with: berth store repair --data-dir ${dataDir}\n`);
  return 1;
}
