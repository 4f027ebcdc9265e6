// Validation shared by every kind: object metadata, label selectors, node selectors, quantities.
import { type FieldError, type FieldPath, fieldError } from '../field-errors.js';
import type { KindInfo } from '../kinds.js';
import type { LabelSelector, ObjectMeta } from '../meta.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  qualifiedNameErrors,
} from '../names.js';
import { parseQuantity, QuantityError, type Quantity } from '../quantity.js';
import type { NodeSelector, NodeSelectorRequirement } from '../types.js';

export type NameCheck = (name: string) => string[];

export function validateObjectMeta(
  meta: ObjectMeta,
  info: KindInfo,
  path: FieldPath,
  nameCheck: NameCheck = dns1123SubdomainErrors,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta.name && !meta.generateName) {
    errs.push(fieldError.required(path.child('name').value, 'name or generateName is required'));
  }
  if (meta.name) {
    for (const e of nameCheck(meta.name))
      errs.push(fieldError.invalid(path.child('name').value, meta.name, e));
  }
  if (meta.generateName) {
    // the random suffix is added later; check the prefix as a name without its trailing '-'
    const prefix = meta.generateName.replace(/-$/, '') || 'a';
    for (const e of nameCheck(prefix)) {
      errs.push(fieldError.invalid(path.child('generateName').value, meta.generateName, e));
    }
  }
  if (info.namespaced && meta.namespace !== undefined && meta.namespace !== '') {
    for (const e of dns1123LabelErrors(meta.namespace)) {
      errs.push(fieldError.invalid(path.child('namespace').value, meta.namespace, e));
    }
  }
  errs.push(...validateLabels(meta.labels, path.child('labels')));
  errs.push(...validateAnnotations(meta.annotations, path.child('annotations')));
  (meta.finalizers ?? []).forEach((f, i) => {
    for (const e of qualifiedNameErrors(f))
      errs.push(fieldError.invalid(path.child('finalizers').index(i).value, f, e));
  });
  return errs;
}

/** The API server's limit on the total size of an object's annotations (keys and values). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    for (const e of qualifiedNameErrors(key.toLowerCase())) errs.push(fieldError.invalid(path.value, key, e));
    total += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT)
    errs.push(fieldError.tooLong(path.value, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export function validateLabels(labels: Record<string, string> | undefined, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of qualifiedNameErrors(k)) errs.push(fieldError.invalid(path.value, k, e));
    for (const e of labelValueErrors(v)) errs.push(fieldError.invalid(path.key(k).value, v, e));
  }
  return errs;
}

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function validateLabelSelector(sel: LabelSelector | undefined, path: FieldPath): FieldError[] {
  if (!sel) return [];
  const errs = validateLabels(sel.matchLabels, path.child('matchLabels'));
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = path.child('matchExpressions').index(i);
    if (!selectorOperators.includes(req.operator)) {
      errs.push(fieldError.notSupported(p.child('operator').value, req.operator, selectorOperators));
    }
    const hasValues = (req.values ?? []).length > 0;
    if ((req.operator === 'In' || req.operator === 'NotIn') && !hasValues) {
      errs.push(
        fieldError.required(p.child('values').value, "must be specified when `operator` is 'In' or 'NotIn'"),
      );
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && hasValues) {
      errs.push(
        fieldError.forbidden(
          p.child('values').value,
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
      );
    }
    for (const e of qualifiedNameErrors(req.key ?? ''))
      errs.push(fieldError.invalid(p.child('key').value, req.key, e));
  });
  return errs;
}

function validateNodeRequirement(req: NodeSelectorRequirement, p: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) {
        errs.push(
          fieldError.required(
            p.child('values').value,
            "must be specified when `operator` is 'In' or 'NotIn'",
          ),
        );
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) {
        errs.push(
          fieldError.forbidden(
            p.child('values').value,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1)
        errs.push(
          fieldError.required(
            p.child('values').value,
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
          ),
        );
      break;
    default:
      errs.push(fieldError.invalid(p.child('operator').value, req.operator, 'not a valid selector operator'));
  }
  for (const e of qualifiedNameErrors(req.key ?? ''))
    errs.push(fieldError.invalid(p.child('key').value, req.key, e));
  return errs;
}

export function validateNodeSelector(sel: NodeSelector | undefined, path: FieldPath): FieldError[] {
  if (!sel) return [];
  const terms = sel.nodeSelectorTerms ?? [];
  if (terms.length === 0) {
    return [
      fieldError.required(path.child('nodeSelectorTerms').value, 'must have at least one node selector term'),
    ];
  }
  const errs: FieldError[] = [];
  terms.forEach((term, i) => {
    const p = path.child('nodeSelectorTerms').index(i);
    (term.matchExpressions ?? []).forEach((req, j) =>
      errs.push(...validateNodeRequirement(req, p.child('matchExpressions').index(j))),
    );
    (term.matchFields ?? []).forEach((req, j) => {
      const fp = p.child('matchFields').index(j);
      if (req.key !== 'metadata.name')
        errs.push(fieldError.invalid(fp.child('key').value, req.key, 'not a valid field selector key'));
      if (req.operator !== 'In' && req.operator !== 'NotIn') {
        errs.push(
          fieldError.invalid(fp.child('operator').value, req.operator, 'not a valid selector operator'),
        );
      } else if ((req.values ?? []).length !== 1) {
        errs.push(
          fieldError.required(
            fp.child('values').value,
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
          ),
        );
      }
    });
  });
  return errs;
}

/** Parses a quantity field; on failure adds the Kubernetes error for that field. */
export function quantityAt(
  value: string | number,
  path: FieldPath,
  errs: FieldError[],
): Quantity | undefined {
  try {
    return parseQuantity(value);
  } catch (e) {
    const detail = e instanceof QuantityError ? e.message : String(e);
    errs.push(fieldError.invalid(path.value, value, detail));
    return undefined;
  }
}

export function validateEnum(
  value: string | undefined,
  supported: readonly string[],
  path: FieldPath,
  errs: FieldError[],
): void {
  if (value !== undefined && !supported.includes(value))
    errs.push(fieldError.notSupported(path.value, value, supported));
}

export function subdomainAt(value: string | undefined, path: FieldPath, errs: FieldError[]): void {
  if (value === undefined || value === '') return;
  for (const e of dns1123SubdomainErrors(value)) errs.push(fieldError.invalid(path.value, value, e));
}

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}
