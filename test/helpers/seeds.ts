// The client's seed manifests, copied verbatim (and repaired) into test/fixtures/seed-manifests,
// with the one conversion artefact that the research step left in place undone: markdown escapes
// (`\-`, `\#`).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const seedDir = join(import.meta.dirname, '..', 'fixtures', 'seed-manifests');

export function seedFiles(): string[] {
  return readdirSync(seedDir)
    .filter((f) => f.endsWith('.repaired.yaml'))
    .sort();
}

export function unescapeMarkdown(text: string): string {
  return text.replace(/^(\s*)\\(-|#)/gm, '$1$2');
}

export function readSeed(file: string): string {
  return unescapeMarkdown(readFileSync(join(seedDir, file), 'utf8'));
}
