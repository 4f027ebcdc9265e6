// Pure: `berth wait --for=...` parsed into a condition, and that condition checked against an object.
import type { KubeObject } from '../api/meta.js';
import { UsageError } from './io.js';
import { evaluateJsonPath, jsonPathText } from './jsonpath.js';

export type WaitCondition =
  | { kind: 'delete' }
  | { kind: 'create' }
  | { kind: 'condition'; type: string; status: string }
  | { kind: 'jsonpath'; expression: string; value: string | undefined };

function stripQuotes(text: string): string {
  const m = /^(['"])(.*)\1$/s.exec(text);
  return m ? (m[2] ?? '') : text;
}

/** `delete`, `create`, `condition=Ready`, `condition=Ready=false`, `jsonpath='{.status.phase}'=Bound`. */
export function parseWaitFor(spec: string): WaitCondition {
  const text = spec.trim();
  if (text === 'delete') return { kind: 'delete' };
  if (text === 'create') return { kind: 'create' };
  if (text.startsWith('condition=')) {
    const rest = text.slice('condition='.length);
    const eq = rest.indexOf('=');
    const type = eq < 0 ? rest : rest.slice(0, eq);
    const status = eq < 0 ? 'true' : rest.slice(eq + 1);
    if (type === '') throw new UsageError(`--for=${spec}: the condition needs a type, as in condition=Ready`);
    return { kind: 'condition', type, status };
  }
  if (text.startsWith('jsonpath=')) {
    const rest = text.slice('jsonpath='.length);
    // The expression ends at its closing brace (possibly quoted); `=value` may follow.
    const match = /^(['"]?)(\{.*\})\1(?:=(.*))?$/s.exec(rest);
    if (!match) throw new UsageError(`--for=${spec}: expected jsonpath='{.path}'=value`);
    const value = match[3];
    return {
      kind: 'jsonpath',
      expression: match[2] ?? '',
      value: value === undefined ? undefined : stripQuotes(value),
    };
  }
  throw new UsageError(
    `--for=${spec}: expected delete, create, condition=NAME[=VALUE] or jsonpath='{...}'=VALUE`,
  );
}

interface Condition {
  type?: unknown;
  status?: unknown;
}

/** Whether `obj` (undefined when it does not exist) satisfies the condition. */
export function isConditionMet(condition: WaitCondition, obj: KubeObject | undefined): boolean {
  switch (condition.kind) {
    case 'delete':
      return obj === undefined;
    case 'create':
      return obj !== undefined;
    case 'condition': {
      if (!obj) return false;
      const status = obj['status'] as { conditions?: Condition[] } | undefined;
      const found = (status?.conditions ?? []).find(
        (c) => typeof c.type === 'string' && c.type.toLowerCase() === condition.type.toLowerCase(),
      );
      return (
        typeof found?.status === 'string' && found.status.toLowerCase() === condition.status.toLowerCase()
      );
    }
    case 'jsonpath': {
      if (!obj) return false;
      const values = evaluateJsonPath(condition.expression, obj);
      if (condition.value === undefined)
        return values.length > 0 && values.every((v) => v !== false && v !== null);
      return values.length > 0 && values.every((v) => jsonPathText(v) === condition.value);
    }
  }
}
