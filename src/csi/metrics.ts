// The CSI sidecars' call metric (csi-lib-utils' operations histogram): every call a CsiClient
// makes, by driver, full gRPC method name and status code spelled as Go's codes.Code.String().
import { Histogram, register } from 'prom-client';

const OPERATIONS = 'csi_sidecar_operations_seconds';

/** csi-lib-utils' buckets, in seconds. */
const BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600];

function histogram(): Histogram<'driver_name' | 'method_name' | 'grpc_status_code'> {
  const existing = register.getSingleMetric(OPERATIONS);
  if (existing) return existing as Histogram<'driver_name' | 'method_name' | 'grpc_status_code'>;
  return new Histogram({
    name: OPERATIONS,
    help: 'Container Storage Interface operation duration with gRPC error code status total',
    labelNames: ['driver_name', 'method_name', 'grpc_status_code'],
    buckets: BUCKETS,
  });
}

const operations = histogram();

/** The label sets seen so far, so a call builds no strings (bounded: driver names come from drivers). */
const labelCache = new Map<string, Record<'driver_name' | 'method_name' | 'grpc_status_code', string>>();
const MAX_CACHED_LABELS = 1_000;

/** "RESOURCE_EXHAUSTED" -> "ResourceExhausted", as Go prints a gRPC code. */
export function goCodeName(codeName: string): string {
  if (codeName === 'OK') return 'OK';
  return codeName
    .toLowerCase()
    .split('_')
    .map((w) => (w === '' ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join('');
}

export function observeCsiCall(
  driverName: string,
  service: string,
  method: string,
  codeName: string,
  seconds: number,
): void {
  const key = `${driverName}\0${service}\0${method}\0${codeName}`;
  let labels = labelCache.get(key);
  if (!labels) {
    labels = {
      driver_name: driverName,
      method_name: `/csi.v1.${service}/${method}`,
      grpc_status_code: goCodeName(codeName),
    };
    if (labelCache.size < MAX_CACHED_LABELS) labelCache.set(key, labels);
  }
  operations.observe(labels, seconds);
}
