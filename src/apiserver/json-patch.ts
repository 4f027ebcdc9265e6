// RFC 6902 JSON Patch (add, remove, replace, move, copy, test) with RFC 6901 pointers. Pure.
import { cloneJson } from '../api/clone-json.js';
import { deepEqual } from '../store/merge-patch.js';

/** A patch that cannot be applied; the API server reports it as 422 on the "patch" field. */
export class PatchApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchApplyError';
  }
}

type Container = Record<string, unknown> | unknown[];

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchApplyError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new PatchApplyError(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > length || (!forInsert && i === length)) throw new PatchApplyError(`array index ${i} out of bounds`);
  return i;
}

/** The container holding the last token of `path`, and that token. */
function parentOf(doc: unknown, tokens: string[]): { parent: Container; key: string } {
  if (tokens.length === 0) throw new PatchApplyError('the whole document cannot be the target');
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isContainer(cur) && Object.hasOwn(cur, t)) cur = (cur as Record<string, unknown>)[t];
    else throw new PatchApplyError(`path /${tokens.join('/')} does not exist`);
  }
  if (!isContainer(cur)) throw new PatchApplyError(`path /${tokens.join('/')} does not exist`);
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) return parent[arrayIndex(key, parent.length, false)];
  if (!Object.hasOwn(parent, key)) throw new PatchApplyError(`path /${tokens.join('/')} does not exist`);
  return parent[key];
}

function addAt(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true), 0, value);
  else parent[key] = value;
  return doc;
}

function removeAt(doc: unknown, tokens: string[]): unknown {
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const removed: unknown[] = parent.splice(arrayIndex(key, parent.length, false), 1);
    return removed[0];
  }
  if (!Object.hasOwn(parent, key)) throw new PatchApplyError(`path /${tokens.join('/')} does not exist`);
  const value = parent[key];
  delete parent[key];
  return value;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function asOperations(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw new PatchApplyError('a JSON patch must be an array of operations');
  return patch.map((raw, i) => {
    if (
      !isContainer(raw) ||
      Array.isArray(raw) ||
      typeof raw['op'] !== 'string' ||
      typeof raw['path'] !== 'string'
    ) {
      throw new PatchApplyError(`operation ${i} needs string "op" and "path"`);
    }
    return raw as unknown as Operation;
  });
}

/** Applies the operations in order to a copy of `doc`; any failing operation fails the whole patch. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  let result: unknown = cloneJson(doc);
  for (const op of asOperations(patch)) {
    const path = parsePointer(op.path);
    const needValue = (): unknown => {
      if (!('value' in op)) throw new PatchApplyError(`operation "${op.op}" needs a value`);
      return cloneJson(op.value);
    };
    switch (op.op) {
      case 'add':
        result = addAt(result, path, needValue());
        break;
      case 'remove':
        removeAt(result, path);
        break;
      case 'replace': {
        const value = needValue();
        if (path.length === 0) result = value;
        else {
          removeAt(result, path);
          result = addAt(result, path, value);
        }
        break;
      }
      case 'move': {
        const from = parsePointer(op.from ?? '');
        const value = removeAt(result, from);
        result = addAt(result, path, value);
        break;
      }
      case 'copy': {
        const value = cloneJson(getAt(result, parsePointer(op.from ?? '')));
        result = addAt(result, path, value);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(result, path), op.value)) {
          throw new PatchApplyError(`testing value ${op.path} failed`);
        }
        break;
      default:
        throw new PatchApplyError(`unknown operation ${JSON.stringify(op.op)}`);
    }
  }
  return result;
}
