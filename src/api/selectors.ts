// Kubernetes label and field selectors: parsing (string and structured forms) and matching.
// Pure code: the store, the API server and the controllers all filter objects the same way.
import { badRequest } from './errors.js';
import type { LabelSelector } from './meta.js';

export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export interface ParsedLabelSelector {
  requirements: LabelRequirement[];
  matches(labels: Record<string, string> | undefined): boolean;
}

export type FieldOperator = '=' | '!=';

export interface FieldRequirement {
  path: string;
  operator: FieldOperator;
  value: string;
}

export interface ParsedFieldSelector {
  requirements: FieldRequirement[];
  matches(obj: unknown): boolean;
}

// ---------------------------------------------------------------------------------------------
// Label selectors

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid, or undefined when it is a valid qualified name. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `prefix part must be a lowercase RFC 1123 subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)`;
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is valid (empty is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)`;
  }
  return undefined;
}

function labelSelectorError(text: string, why: string): Error {
  return badRequest(`unable to parse label selector "${text}": ${why}`);
}

type Token =
  | { kind: 'id'; text: string }
  | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '>' | '<' }
  | { kind: '(' | ')' | ',' };

function tokenizeLabels(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c });
      i++;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: text.slice(i, i + 2) as '==' | '!=' });
      i += 2;
    } else if (c === '=' || c === '!' || c === '>' || c === '<') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else {
      let j = i;
      while (j < text.length && !' \t(),=!><'.includes(text[j]!)) j++;
      tokens.push({ kind: 'id', text: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function describe(token: Token | undefined): string {
  if (!token) return 'end of string';
  return `'${token.kind === 'id' || token.kind === 'op' ? token.text : token.kind}'`;
}

/** Parses `a=b,a==b,c!=d,e in (f,g),h notin (i),j,!k,l>3`; the empty string selects everything. */
export function parseLabelSelector(text: string): ParsedLabelSelector {
  const tokens = tokenizeLabels(text);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw labelSelectorError(text, why);
  };
  const identifier = (what: string): string => {
    const token = tokens[pos];
    if (token?.kind !== 'id') return fail(`found ${describe(token)}, expected: ${what}`);
    pos++;
    return token.text;
  };
  const valueList = (): string[] => {
    if (tokens[pos]?.kind !== '(') return fail(`found ${describe(tokens[pos])}, expected: '('`);
    pos++;
    const values: string[] = [];
    if (tokens[pos]?.kind === ')') {
      pos++;
      return values; // rejected below: in/notin need values
    }
    for (;;) {
      const token = tokens[pos];
      if (token?.kind === 'id') {
        values.push(token.text);
        pos++;
      } else if (token?.kind === ',' || token?.kind === ')') {
        values.push(''); // an empty value between separators, as Kubernetes allows
      } else {
        return fail(`found ${describe(token)}, expected: ',', ')' or identifier`);
      }
      const next = tokens[pos];
      pos++;
      if (next?.kind === ')') return values;
      if (next?.kind !== ',') return fail(`found ${describe(next)}, expected: ',' or ')'`);
    }
  };

  while (pos < tokens.length) {
    let requirement: LabelRequirement;
    if (tokens[pos]?.kind === 'op' && (tokens[pos] as { text: string }).text === '!') {
      pos++;
      requirement = { key: identifier("identifier after '!'"), operator: '!', values: [] };
    } else {
      const key = identifier('identifier');
      const token = tokens[pos];
      if (token === undefined || token.kind === ',') {
        requirement = { key, operator: 'exists', values: [] };
      } else if (token.kind === 'id' && (token.text === 'in' || token.text === 'notin')) {
        pos++;
        requirement = { key, operator: token.text, values: valueList() };
      } else if (token.kind === 'op' && token.text !== '!') {
        pos++;
        const next = tokens[pos];
        const value = next?.kind === 'id' ? next.text : '';
        if (next?.kind === 'id') pos++;
        const operator =
          token.text === '==' ? '=' : token.text === '>' ? 'gt' : token.text === '<' ? 'lt' : token.text;
        requirement = { key, operator, values: [value] };
      } else {
        return fail(`found ${describe(token)}, expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    validateRequirement(requirement, (why) => fail(why));
    requirements.push(requirement);
    if (pos < tokens.length) {
      if (tokens[pos]?.kind !== ',') fail(`found ${describe(tokens[pos])}, expected: ','`);
      pos++;
      if (pos === tokens.length) fail(`found end of string, expected: identifier`);
    }
  }
  return selectorOf(requirements);
}

function validateRequirement(req: LabelRequirement, fail: (why: string) => never): void {
  const keyProblem = labelKeyProblem(req.key);
  if (keyProblem) fail(`invalid label key "${req.key}": ${keyProblem}`);
  if ((req.operator === 'in' || req.operator === 'notin') && req.values.length === 0) {
    fail(`for 'in', 'notin' operators, values set can't be empty`);
  }
  if (req.operator === 'gt' || req.operator === 'lt') {
    if (!/^-?\d+$/.test(req.values[0] ?? '')) fail(`for 'gt', 'lt' operators, the value must be an integer`);
    return;
  }
  for (const value of req.values) {
    const valueProblem = labelValueProblem(value);
    if (valueProblem) fail(`invalid label value: "${value}": ${valueProblem}`);
  }
}

function requirementMatches(req: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && req.values.includes(value!);
    case '!=':
    case 'notin':
      return !has || !req.values.includes(value!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const diff = Number(value) - Number(req.values[0]);
      return req.operator === 'gt' ? diff > 0 : diff < 0;
    }
  }
}

function selectorOf(requirements: LabelRequirement[]): ParsedLabelSelector {
  return {
    requirements,
    matches: (labels) => requirements.every((req) => requirementMatches(req, labels)),
  };
}

/** Selects everything. */
export const everythingLabels: ParsedLabelSelector = selectorOf([]);
/** Selects nothing: what a nil structured selector means in Kubernetes. */
export const nothingLabels: ParsedLabelSelector = { requirements: [], matches: () => false };

/**
 * Converts a structured LabelSelector (matchLabels + matchExpressions) into a matcher. As in
 * Kubernetes, an absent selector selects nothing and an empty one selects everything.
 */
export function labelSelectorMatcher(selector: LabelSelector | undefined | null): ParsedLabelSelector {
  if (selector === undefined || selector === null) return nothingLabels;
  const text = labelSelectorToString(selector);
  const fail = (why: string): never => {
    throw labelSelectorError(text, why);
  };
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push({ key, operator: '=', values: [value] });
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          fail(`values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`);
        requirements.push({ key: expr.key, operator: expr.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          fail(`values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`);
        requirements.push({
          key: expr.key,
          operator: expr.operator === 'Exists' ? 'exists' : '!',
          values: [],
        });
        break;
      default:
        fail(`"${String(expr.operator)}" is not a valid label selector operator`);
    }
  }
  for (const req of requirements) validateRequirement(req, fail);
  return selectorOf(requirements);
}

/** The string form of a structured selector, requirements sorted by key as Kubernetes prints them. */
export function labelSelectorToString(selector: LabelSelector): string {
  const parts: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) parts.push([key, `${key}=${value}`]);
  for (const expr of selector.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    const text =
      expr.operator === 'In'
        ? `${expr.key} in (${values})`
        : expr.operator === 'NotIn'
          ? `${expr.key} notin (${values})`
          : expr.operator === 'Exists'
            ? expr.key
            : `!${expr.key}`;
    parts.push([expr.key, text]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, text]) => text)
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// Field selectors

/** Splits on unescaped separators; `\,` `\=` `\!` `\\` escape, as in Kubernetes field selectors. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(text: string, selector: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined || !'\\,=!'.includes(next)) {
        throw badRequest(`invalid field selector: '${selector}'; invalid escape sequence in '${text}'`);
      }
      out += next;
      i++;
    } else if (c === ',' || c === '=') {
      throw badRequest(`invalid field selector: '${selector}'; unescaped '${c}' in value '${text}'`);
    } else {
      out += c;
    }
  }
  return out;
}

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses `metadata.name=x,spec.nodeName==n,status.phase!=Bound`; the empty string selects everything. */
export function parseFieldSelector(text: string): ParsedFieldSelector {
  const requirements: FieldRequirement[] = [];
  if (text.trim() !== '') {
    for (const part of splitUnescaped(text, ',')) {
      const match = /^([^=!]*?)\s*(==|!=|=)\s*(.*)$/s.exec(part);
      const path = match?.[1]?.trim() ?? '';
      if (!match || !FIELD_PATH.test(path)) {
        throw badRequest(`invalid field selector: '${text}'; can't understand '${part}'`);
      }
      requirements.push({
        path,
        operator: match[2] === '!=' ? '!=' : '=',
        value: unescapeFieldValue(match[3] ?? '', text),
      });
    }
  }
  return {
    requirements,
    matches: (obj) =>
      requirements.every((req) => (fieldValue(obj, req.path) === req.value) === (req.operator === '=')),
  };
}

/** The value at a dotted path as a field selector compares it: absent and null read as "". */
export function fieldValue(obj: unknown, path: string): string {
  let current: unknown = obj;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[segment];
  }
  if (current === undefined || current === null) return '';
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return JSON.stringify(current);
}
