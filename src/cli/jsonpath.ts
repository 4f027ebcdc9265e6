// Pure: the part of kubectl's JSONPath that `wait --for=jsonpath=` needs: `{.a.b}`, `[n]`, `[*]`,
// `['key.with.dots']` and filters `[?(@.type=="Ready")]`.

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: string[]; value: string | undefined };

export class JsonPathError extends Error {
  constructor(expression: string, why: string) {
    super(`invalid jsonpath expression ${expression}: ${why}`);
    this.name = 'JsonPathError';
  }
}

function parseSteps(expression: string): Step[] {
  let text = expression.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text.startsWith('$')) text = text.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      let j = i + 1;
      while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
      const name = text.slice(i + 1, j);
      if (name === '') throw new JsonPathError(expression, `empty field name at ${i}`);
      steps.push({ kind: 'field', name });
      i = j;
    } else if (ch === '[') {
      const close = findClose(text, i);
      if (close < 0) throw new JsonPathError(expression, 'unclosed [');
      steps.push(parseBracket(text.slice(i + 1, close).trim(), expression));
      i = close + 1;
    } else {
      throw new JsonPathError(expression, `unexpected "${ch}" at ${i}`);
    }
  }
  return steps;
}

function findClose(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return i;
  }
  return -1;
}

function unquote(text: string): string | undefined {
  const m = /^(['"])(.*)\1$/.exec(text);
  return m ? m[2] : undefined;
}

function parseBracket(inner: string, expression: string): Step {
  if (inner === '*') return { kind: 'all' };
  if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const quoted = unquote(inner);
  if (quoted !== undefined) return { kind: 'field', name: quoted };
  const filter = /^\?\(@((?:\.[^.=!<>\s)]+)+)\s*(?:==\s*(.+?))?\s*\)$/.exec(inner);
  if (filter) {
    const path = (filter[1] ?? '').split('.').filter((p) => p !== '');
    const raw = filter[2];
    const value = raw === undefined ? undefined : (unquote(raw.trim()) ?? raw.trim());
    return { kind: 'filter', path, value };
  }
  throw new JsonPathError(expression, `unsupported [${inner}]`);
}

function child(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** Every value the expression selects in `root` (none when a step finds nothing). */
export function evaluateJsonPath(expression: string, root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of parseSteps(expression)) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === 'field') {
        const found = child(value, step.name);
        if (found !== undefined) next.push(found);
      } else if (Array.isArray(value)) {
        if (step.kind === 'all') next.push(...(value as unknown[]));
        else if (step.kind === 'index') {
          const found: unknown = value[step.index < 0 ? value.length + step.index : step.index];
          if (found !== undefined) next.push(found);
        } else {
          for (const item of value as unknown[]) {
            const probe = step.path.reduce<unknown>((v, name) => child(v, name), item);
            if (
              step.value === undefined
                ? probe !== undefined
                : probe !== undefined && jsonPathText(probe) === step.value
            ) {
              next.push(item);
            }
          }
        }
      }
    }
    current = next;
  }
  return current;
}

/** A selected value as kubectl prints it: strings bare, everything else as JSON. */
export function jsonPathText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

type TemplatePart = { text: string } | { expression: string } | { range: string; body: TemplatePart[] };

/** `text{.a}{"\n"}{range .items[*]}...{end}` -> parts; `{end}` closes the innermost range. */
function parseTemplate(template: string): TemplatePart[] {
  const stack: TemplatePart[][] = [[]];
  const top = (): TemplatePart[] => stack[stack.length - 1] ?? [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      top().push({ text: template.slice(i) });
      break;
    }
    if (open > i) top().push({ text: template.slice(i, open) });
    const close = findClose(template.replaceAll('{', '[').replaceAll('}', ']'), open);
    if (close < 0) throw new JsonPathError(template, 'unclosed {');
    const inner = template.slice(open + 1, close).trim();
    if (inner === 'end') {
      if (stack.length === 1) throw new JsonPathError(template, '{end} without {range}');
      stack.pop();
    } else if (inner.startsWith('range ')) {
      const part = { range: inner.slice('range '.length).trim(), body: [] as TemplatePart[] };
      top().push(part);
      stack.push(part.body);
    } else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) {
      top().push({ text: JSON.parse(inner) as string });
    } else {
      parseSteps(inner); // reports a bad expression before anything prints
      top().push({ expression: inner });
    }
    i = close + 1;
  }
  if (stack.length > 1) throw new JsonPathError(template, '{range} without {end}');
  return stack[0] ?? [];
}

function renderParts(parts: TemplatePart[], root: unknown): string {
  let out = '';
  for (const part of parts) {
    if ('text' in part) out += part.text;
    else if ('expression' in part) out += evaluateJsonPath(part.expression, root).map(jsonPathText).join(' ');
    else for (const item of evaluateJsonPath(part.range, root)) out += renderParts(part.body, item);
  }
  return out;
}

/** kubectl's `-o jsonpath=TEMPLATE` over `root`: expressions' values space-separated, ranges repeated. */
export function renderJsonPathTemplate(template: string, root: unknown): string {
  return renderParts(parseTemplate(template), root);
}
