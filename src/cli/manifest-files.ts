// Reads `-f` arguments (files, directories, or `-` for stdin) into manifests, in order.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KindInfo } from '../api/kinds.js';
import { kindFor } from '../api/kinds.js';
import { loadManifests } from '../api/manifests.js';
import type { KubeObject } from '../api/meta.js';
import type { CommandContext } from './context.js';
import { UsageError, readAll } from './io.js';

export interface SourcedManifest {
  object: KubeObject;
  kind: KindInfo;
  /** The file the object came from, as the user named it (`-` for stdin). */
  source: string;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

async function filesIn(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...(await filesIn(path, recursive)));
    } else if (MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
      out.push(path);
    }
  }
  return out;
}

/** Every `-f` source as (name, text); directories give their manifest files sorted by name. */
export async function readSources(
  ctx: CommandContext,
  paths: readonly string[],
  recursive: boolean,
): Promise<{ source: string; text: string }[]> {
  if (paths.length === 0) throw new UsageError('must specify one of -f and -k');
  const out: { source: string; text: string }[] = [];
  for (const path of paths) {
    if (path === '-') {
      if (!ctx.io.stdin) throw new UsageError('-f -: no standard input');
      out.push({ source: '-', text: await readAll(ctx.io.stdin) });
      continue;
    }
    const absolute = resolve(ctx.cwd, path);
    let info;
    try {
      info = await stat(absolute);
    } catch {
      throw new UsageError(`the path "${path}" does not exist`);
    }
    if (info.isDirectory()) {
      for (const file of await filesIn(absolute, recursive)) {
        out.push({ source: file, text: await readFile(file, 'utf8') });
      }
    } else {
      out.push({ source: path, text: await readFile(absolute, 'utf8') });
    }
  }
  return out;
}

/** Loads and resolves every manifest; a bad document fails the whole command before any write. */
export async function readManifests(
  ctx: CommandContext,
  paths: readonly string[],
  recursive: boolean,
): Promise<SourcedManifest[]> {
  const out: SourcedManifest[] = [];
  for (const { source, text } of await readSources(ctx, paths, recursive)) {
    for (const object of loadManifests(text, source)) {
      const kind = kindFor(object.apiVersion, object.kind);
      if (!kind) throw new Error(`no matches for kind "${object.kind}" in version "${object.apiVersion}"`);
      out.push({ object, kind, source });
    }
  }
  return out;
}

/**
 * The namespace a manifest is written to: its own, else -n, else the default. A manifest whose
 * namespace disagrees with -n is refused, as kubectl does.
 */
export function manifestNamespace(
  m: SourcedManifest,
  flag: string | undefined,
  fallback: string,
): string | undefined {
  if (!m.kind.namespaced) return undefined;
  const own = m.object.metadata.namespace;
  if (own && flag && own !== flag) {
    throw new UsageError(
      `the namespace from the provided object "${own}" does not match the namespace "${flag}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  return own ?? flag ?? fallback;
}
