// Runs the mock CSI driver as its own process:
//   node --import tsx test/mock-driver/main.ts --endpoint unix:///tmp/x.sock --node-id n1 \
//     [--name x] [--no-publish] [--no-stage] [--capacity BYTES] [--state-file F] [--fault Method:spec]...
// Prints "ready <endpoint>" once serving; SIGTERM shuts down gracefully; a "die" fault exits with 70.
import { parseArgs } from 'node:util';
import { serveCsi } from '../../src/csi/server.js';
import { MockDriver } from './driver.js';
import type { MockDriverOptions } from './driver.js';
import { DIE_EXIT_CODE, parseFault } from './faults.js';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    'node-id': { type: 'string' },
    name: { type: 'string' },
    'no-publish': { type: 'boolean' },
    'no-stage': { type: 'boolean' },
    capacity: { type: 'string' },
    'state-file': { type: 'string' },
    fault: { type: 'string', multiple: true },
  },
});

if (!values.endpoint) {
  process.stderr.write('--endpoint is required\n');
  process.exit(2);
}

const options: MockDriverOptions = {
  publishUnpublish: !values['no-publish'],
  stageUnstage: !values['no-stage'],
  onDie: () => process.exit(DIE_EXIT_CODE),
};
if (values['node-id']) options.nodeId = values['node-id'];
if (values.name) options.name = values.name;
if (values.capacity) options.capacityBytes = BigInt(values.capacity);
if (values['state-file']) options.stateFile = values['state-file'];

const driver = new MockDriver(options);
for (const text of values.fault ?? []) {
  const { method, fault } = parseFault(text);
  driver.faults.push(method, fault);
}

const server = await serveCsi(values.endpoint, driver.handlers(), { shutdownTimeoutMs: 2_000 });
process.stdout.write(`ready ${server.endpoint}\n`);

const stop = () => {
  void server.shutdown().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
