// `berth get`: the server's Tables printed like kubectl, or objects as yaml/json/name, or a watch.
import { isStatusError } from '../../api/errors.js';
import type { KindInfo } from '../../api/kinds.js';
import { apiVersionOf } from '../../api/kinds.js';
import type { KubeObject } from '../../api/meta.js';
import type { RestClient } from '../../client/rest.js';
import type { Table } from '../../client/table.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect, namespaceOf, requireKind } from '../context.js';
import { formatError } from '../errors.js';
import { renderJsonPathTemplate } from '../jsonpath.js';
import { UsageError } from '../io.js';
import { kindLabel, objectName, renderObjects } from '../format/output.js';
import { columnWidths, renderLines, tableLines } from '../format/table.js';
import type { TableLayout } from '../format/table.js';

const options = {
  ...clientOptions,
  output: { type: 'string', short: 'o' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  watch: { type: 'boolean', short: 'w' },
  selector: { type: 'string', short: 'l' },
  'field-selector': { type: 'string' },
} as const;

type OutputMode = 'table' | 'wide' | 'name' | 'yaml' | 'json' | { jsonpath: string };

interface GetRequest {
  kind: KindInfo;
  /** Empty = every object of the kind. */
  names: string[];
}

interface GetScope {
  client: RestClient;
  namespace: string;
  allNamespaces: boolean;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
}

function outputMode(flag: string | undefined): OutputMode {
  if (flag === undefined || flag === '') return 'table';
  if (flag === 'wide' || flag === 'name' || flag === 'yaml' || flag === 'json') return flag;
  const jsonpath = /^jsonpath=(.*)$/s.exec(flag)?.[1];
  if (jsonpath !== undefined && jsonpath !== '') return { jsonpath };
  throw new UsageError(
    `unable to match a printer suitable for the output format "${flag}", allowed formats are: json,jsonpath,name,wide,yaml`,
  );
}

/** `pv,pvc [NAME...]` or `pvc/a pv/b`, in the order given. */
export function parseGetRequests(positionals: string[]): GetRequest[] {
  const first = positionals[0];
  if (first === undefined) {
    throw new UsageError(
      'you must specify the type of resource to get, e.g. `berth get pvc` or `berth get sc,pv,pvc`',
    );
  }
  if (first.includes('/')) {
    const requests: GetRequest[] = [];
    for (const arg of positionals) {
      const slash = arg.indexOf('/');
      if (slash <= 0 || slash === arg.length - 1) throw new UsageError(`"${arg}": expected KIND/NAME`);
      const kind = requireKind(arg.slice(0, slash));
      const existing = requests.find((r) => r.kind === kind);
      if (existing) existing.names.push(arg.slice(slash + 1));
      else requests.push({ kind, names: [arg.slice(slash + 1)] });
    }
    return requests;
  }
  const kinds = first
    .split(',')
    .filter((k) => k !== '')
    .map((k) => requireKind(k));
  const unique = kinds.filter((k, i) => kinds.indexOf(k) === i);
  return unique.map((kind) => ({ kind, names: positionals.slice(1) }));
}

function selectors(scope: GetScope): { labelSelector?: string; fieldSelector?: string } {
  return {
    ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
    ...(scope.fieldSelector ? { fieldSelector: scope.fieldSelector } : {}),
  };
}

function namespaceFor(kind: KindInfo, scope: GetScope): string | undefined {
  return kind.namespaced && !scope.allNamespaces ? scope.namespace : undefined;
}

/** The kind's table; with names, one row per name (missing names reported and skipped). */
async function fetchTable(
  ctx: CommandContext,
  scope: GetScope,
  request: GetRequest,
  wide: boolean,
): Promise<{ table: Table | undefined; failed: boolean }> {
  const namespace = namespaceFor(request.kind, scope);
  const selector = selectors(scope);
  if (request.names.length === 0) {
    return {
      table: await scope.client.getTable(request.kind, namespace, undefined, { ...selector, wide }),
      failed: false,
    };
  }
  let merged: Table | undefined;
  let failed = false;
  for (const name of request.names) {
    try {
      const table = await scope.client.getTable(request.kind, namespace, name, { wide });
      merged = merged ? { ...merged, rows: [...merged.rows, ...table.rows] } : table;
    } catch (err) {
      if (!isStatusError(err)) throw err;
      ctx.io.stderr.write(`${formatError(err)}\n`);
      failed = true;
    }
  }
  return { table: merged, failed };
}

function noResourcesMessage(requests: GetRequest[], scope: GetScope): string {
  const namespaced = requests.some((r) => r.kind.namespaced);
  return namespaced && !scope.allNamespaces
    ? `No resources found in ${scope.namespace} namespace.`
    : 'No resources found';
}

async function printTables(
  ctx: CommandContext,
  scope: GetScope,
  requests: GetRequest[],
  wide: boolean,
): Promise<number> {
  const several = requests.length > 1;
  let printed = false;
  let failed = false;
  for (const request of requests) {
    const result = await fetchTable(ctx, scope, request, wide);
    failed ||= result.failed;
    if (!result.table || result.table.rows.length === 0) continue;
    const layout: TableLayout = {
      ...(several ? { namePrefix: `${kindLabel(request.kind)}/` } : {}),
      withNamespace: scope.allNamespaces && request.kind.namespaced,
    };
    const { header, rows } = tableLines(result.table, layout);
    if (printed) ctx.io.stdout.write('\n');
    ctx.io.stdout.write(renderLines([header, ...rows]));
    printed = true;
  }
  if (!printed && !failed) ctx.io.stderr.write(`${noResourcesMessage(requests, scope)}\n`);
  return failed ? 1 : 0;
}

/** Items of a list lack apiVersion/kind on the wire; kubectl fills them in, and so do we. */
function withType(kind: KindInfo, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: obj.apiVersion || apiVersionOf(kind), kind: obj.kind || kind.kind };
}

async function printObjects(
  ctx: CommandContext,
  scope: GetScope,
  requests: GetRequest[],
  mode: 'name' | 'yaml' | 'json' | { jsonpath: string },
): Promise<number> {
  const objects: { kind: KindInfo; object: KubeObject }[] = [];
  let failed = false;
  for (const request of requests) {
    const namespace = namespaceFor(request.kind, scope);
    if (request.names.length === 0) {
      const list = await scope.client.list(request.kind, {
        ...(namespace ? { namespace } : {}),
        ...selectors(scope),
      });
      for (const item of list.items)
        objects.push({ kind: request.kind, object: withType(request.kind, item) });
      continue;
    }
    for (const name of request.names) {
      try {
        objects.push({
          kind: request.kind,
          object: withType(request.kind, await scope.client.get(request.kind, namespace, name)),
        });
      } catch (err) {
        if (!isStatusError(err)) throw err;
        ctx.io.stderr.write(`${formatError(err)}\n`);
        failed = true;
      }
    }
  }
  if (typeof mode === 'object') {
    ctx.io.stdout.write(
      jsonPathOutput(
        mode.jsonpath,
        objects.map((o) => o.object),
        requests,
      ),
    );
  } else if (mode === 'name') {
    for (const { kind, object } of objects)
      ctx.io.stdout.write(`${objectName(kind, object.metadata.name ?? '')}\n`);
  } else if (objects.length > 0 || !failed) {
    const single = requests.length === 1 && requests[0]?.names.length === 1;
    ctx.io.stdout.write(
      renderObjects(
        objects.map((o) => o.object),
        mode,
        !single,
      ),
    );
  }
  return failed ? 1 : 0;
}

/**
 * kubectl's `-o jsonpath=`: one object is the template's root, several are a List's items; the
 * template's text between {...} expressions is printed as written.
 */
function jsonPathOutput(template: string, objects: KubeObject[], requests: GetRequest[]): string {
  const single = requests.length === 1 && requests[0]?.names.length === 1 && objects.length === 1;
  const root = single ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  return renderJsonPathTemplate(template, root);
}

function rowKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/** Prints the table, then one row per change until the command's signal stops it. */
async function watchTable(
  ctx: CommandContext,
  scope: GetScope,
  request: GetRequest,
  wide: boolean,
): Promise<number> {
  if (request.names.length > 1)
    throw new UsageError('watch is only supported on one resource or one collection');
  const { kind, names } = request;
  const namespace = namespaceFor(kind, scope);
  const fieldSelector = names[0] === undefined ? undefined : `metadata.name=${names[0]}`;
  const initial = await fetchTable(ctx, scope, request, wide);
  if (initial.failed) return 1;
  const layout: TableLayout = { withNamespace: scope.allNamespaces && kind.namespaced };
  const emptyTable: Table = { apiVersion: 'meta.k8s.io/v1', kind: 'Table', columnDefinitions: [], rows: [] };
  const table = initial.table ?? emptyTable;
  const { header, rows } = tableLines(table, layout);
  let liveHeader = header;
  const widths = columnWidths([header, ...rows]);
  const lastRow = new Map<string, string[]>();
  table.rows.forEach((row, i) => {
    const cells = rows[i];
    if (cells)
      lastRow.set(rowKey(row.object?.metadata?.namespace, row.object?.metadata?.name ?? cells[0]), cells);
  });
  let headerPrinted = rows.length > 0;
  if (headerPrinted) ctx.io.stdout.write(renderLines([header, ...rows], widths));
  let resourceVersion = table.metadata?.resourceVersion;
  if (!resourceVersion) {
    resourceVersion = (
      await scope.client.list(kind, {
        ...(namespace ? { namespace } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
      })
    ).resourceVersion;
  }
  const watchFields = fieldSelector ?? scope.fieldSelector;
  const events = scope.client.watch(kind, {
    ...(namespace ? { namespace } : {}),
    ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
    ...(watchFields ? { fieldSelector: watchFields } : {}),
    ...(resourceVersion ? { resourceVersion } : {}),
    ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
  });
  for await (const event of events) {
    const meta = event.object.metadata;
    const key = rowKey(meta.namespace, meta.name);
    let cells: string[] | undefined;
    if (event.type === 'DELETED') {
      cells = lastRow.get(key);
      lastRow.delete(key);
    } else {
      try {
        const one = await scope.client.getTable(kind, meta.namespace, meta.name ?? '', { wide });
        const lines = tableLines(one, layout);
        cells = lines.rows[0];
        liveHeader = lines.header;
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
      }
      if (cells) lastRow.set(key, cells);
    }
    if (!cells) continue;
    const toPrint = headerPrinted ? [cells] : [liveHeader, cells];
    toPrint.forEach((line) => line.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length))));
    ctx.io.stdout.write(renderLines(toPrint, widths));
    headerPrinted = true;
  }
  return 0;
}

export async function runGet(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('get', argv, options);
  const mode = outputMode(values.output);
  const requests = parseGetRequests(positionals);
  if (values.watch && requests.length !== 1)
    throw new UsageError('--watch works on one resource type at a time');
  if (values.watch && mode !== 'table' && mode !== 'wide') throw new UsageError('--watch prints tables only');
  const client = await connect(ctx, values);
  const scope: GetScope = {
    client,
    namespace: namespaceOf(values.namespace, client),
    allNamespaces: values['all-namespaces'] ?? false,
    labelSelector: values.selector,
    fieldSelector: values['field-selector'],
  };
  const wide = mode === 'wide';
  if (values.watch && requests[0]) return watchTable(ctx, scope, requests[0], wide);
  if (mode === 'table' || mode === 'wide') return printTables(ctx, scope, requests, wide);
  return printObjects(ctx, scope, requests, mode);
}
