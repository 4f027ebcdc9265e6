// The driver's cluster config file: which monitors serve each clusterID a StorageClass names, and
// optionally credentials the driver uses when a call brings no secrets (standalone use, tests).
// JSON or YAML: [{ clusterID, monitors: [...], mounter?, userID?, userKeyFile? }].
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const MOUNTERS = ['krbd', 'rbd-nbd', 'rbd-fuse'] as const;
export type MounterName = (typeof MOUNTERS)[number];

const clusterSchema = z
  .object({
    clusterID: z
      .string()
      .min(1)
      .max(36)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
    monitors: z.array(z.string().min(1)).min(1),
    mounter: z.enum(MOUNTERS).optional(),
    userID: z.string().min(1).optional(),
    /** A file holding the bare cephx key of userID (never the key itself in this file). */
    userKeyFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.userID === undefined) === (c.userKeyFile === undefined), {
    message: 'userID and userKeyFile go together',
  });

const configSchema = z.array(clusterSchema);

export type ClusterConfig = z.infer<typeof clusterSchema>;

export class ClusterConfigs {
  private readonly byId: Map<string, ClusterConfig>;

  constructor(clusters: readonly ClusterConfig[]) {
    this.byId = new Map(clusters.map((cluster) => [cluster.clusterID, cluster]));
  }

  get(clusterID: string): ClusterConfig | undefined {
    return this.byId.get(clusterID);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}

/** Parses the config text; throws an Error naming the file and the problem. */
export function parseClusterConfig(text: string, source: string): ClusterConfigs {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${source}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const seen = new Set<string>();
  for (const cluster of result.data) {
    if (seen.has(cluster.clusterID))
      throw new Error(`${source}: clusterID ${cluster.clusterID} appears twice`);
    seen.add(cluster.clusterID);
  }
  return new ClusterConfigs(result.data);
}

export async function loadClusterConfig(file: string): Promise<ClusterConfigs> {
  return parseClusterConfig(await readFile(file, 'utf8'), file);
}
