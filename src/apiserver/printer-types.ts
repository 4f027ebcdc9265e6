// The shape of a printer: the table columns of a kind (as `kubectl get` shows them) and its cells.
import type { KubeObject } from '../api/meta.js';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'number' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface Printer {
  columns: readonly ColumnDefinition[];
  cells(obj: KubeObject, now: Date): unknown[];
}
