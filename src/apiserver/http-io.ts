// Reading request bodies and writing JSON responses and Status errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { StatusError, type Status } from '../api/errors.js';
import { PatchApplyError } from './json-patch.js';
import { MAX_JSON_DEPTH, nestingDepth, scanJson, scanParsedJson } from './json-scan.js';
import { decodeProtobufObject } from './protobuf.js';

const maxBodyBytes = 3 * 1024 * 1024; // the Kubernetes API server's request size limit

export function readBody(req: IncomingMessage): Promise<Buffer> {
  // events rather than an async iterator: cheaper for the small bodies nearly every request has
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.resume(); // the rest is read and dropped; the answer is sent now
      reject(new StatusError(413, 'BadRequest', 'the request is too large'));
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** The media type without parameters, lower-cased ("application/json; charset=utf-8" → "application/json"). */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function isYamlMediaType(type: string): boolean {
  return (
    type === 'application/yaml' ||
    type === 'application/x-yaml' ||
    type === 'text/yaml' ||
    type.endsWith('+yaml')
  );
}

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

export interface ParsedBody {
  value: unknown;
  /** Paths of object keys the body repeats (JSON bodies; YAML parsing refuses them itself). */
  duplicates: string[];
}

function tooDeep(what: string): StatusError {
  return new StatusError(
    400,
    'BadRequest',
    `error decoding ${what}: exceeded max depth of ${MAX_JSON_DEPTH}`,
  );
}

/**
 * Parses a JSON, YAML or (a few kinds) protobuf body; 400 when it does not parse or nests too
 * deep, 415 for other media types.
 */
export function parseBodyChecked(body: Buffer, type: string): ParsedBody {
  if (type === PROTOBUF_MEDIA_TYPE) return { value: decodeProtobufObject(body), duplicates: [] };
  const text = body.toString('utf8');
  const json = type === '' || type === 'application/json' || type.endsWith('+json');
  if (!json && !isYamlMediaType(type)) throw unsupportedMediaType(['application/json', 'application/yaml']);
  if (text.trim() === '') throw new StatusError(400, 'BadRequest', 'the request body is empty');
  const what = json ? 'json' : 'yaml';
  if (json) {
    // parsed first: most bodies are canonical JSON, which needs no second pass (scanParsedJson)
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (scanJson(text).tooDeep) throw tooDeep(what);
      throw new StatusError(400, 'BadRequest', `error decoding ${what}: ${(err as Error).message}`);
    }
    const scan = scanParsedJson(text, value) ?? scanJson(text);
    if (scan.tooDeep) throw tooDeep(what);
    return { value, duplicates: scan.duplicates };
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    // a YAML parser overflowing its stack on deep nesting is the same refusal
    if (err instanceof RangeError || /Maximum call stack size exceeded/.test(String(err)))
      throw tooDeep(what);
    throw new StatusError(400, 'BadRequest', `error decoding ${what}: ${(err as Error).message}`);
  }
  if (nestingDepth(value) > MAX_JSON_DEPTH) throw tooDeep(what);
  return { value, duplicates: [] };
}

export function parseBody(body: Buffer, type: string): unknown {
  return parseBodyChecked(body, type).value;
}

export function unsupportedMediaType(accepted: readonly string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function serverNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

/** Any thrown value as a Kubernetes Status: StatusErrors keep their code, the rest are 500s. */
export function toStatus(err: unknown): Status {
  if (err instanceof StatusError) return err.toStatus();
  if (err instanceof PatchApplyError) {
    return new StatusError(422, 'Invalid', err.message, {
      causes: [{ reason: 'FieldValueInvalid', message: err.message, field: 'patch' }],
    }).toStatus();
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`).toStatus();
}

/** A Warning header as the API server sends it (kubectl prints "Warning: <text>"). */
export function addWarning(res: ServerResponse, text: string): void {
  // header values are Latin-1 without controls: anything else a client sent is shown as '?'
  const value = `299 - ${JSON.stringify(text).replace(/[^\x20-\x7e]/g, '?')}`;
  const existing = res.getHeader('Warning');
  const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)];
  res.setHeader('Warning', [...list, value]);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, pretty: boolean): void {
  const text = `${JSON.stringify(body, null, pretty ? 2 : undefined)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

/** JSON text and its newline as bytes: a response body serialised before. */
export function jsonLine(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const bytes = Buffer.allocUnsafe(length + 1);
  bytes.write(json, 0, 'utf8');
  bytes[length] = 0x0a;
  return bytes;
}

/** A JSON answer serialised before (compact, with its newline). */
export function sendEncodedJson(res: ServerResponse, status: number, encoded: Buffer): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': encoded.length,
    'Cache-Control': 'no-cache, private',
  });
  res.end(encoded);
}

export function sendBytes(res: ServerResponse, contentType: string, body: Buffer): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
