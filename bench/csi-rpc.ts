// CSI over gRPC: the local driver's NodeGetCapabilities, and CreateVolume+DeleteVolume each sent
// twice (the repeat is the idempotent path a retrying sidecar takes), in RPCs per second over a unix
// socket through berth's CsiClient, beside a bare grpc-js echo server (no protobuf, no handler
// work) on a unix socket measured before and after each row in the same process. "event loop busy"
// is the share of the subject's runs the event loop was not waiting (for an fdatasync, mostly).
//   node --import tsx bench/csi-rpc.ts [--seconds 1] [--rounds 5] [--concurrency 16] [--only capabilities|volumes] [--no-warmup]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { CsiClient } from '../src/csi/client.js';
import { startLocalDriver } from '../src/drivers/local/index.js';
import type { LoopResult } from './helpers/flags.js';
import { closedLoop, machineLine, median, numberFlag, percentile } from './helpers/flags.js';

const SECONDS = numberFlag('seconds', 1);
const ROUNDS = numberFlag('rounds', 5);
const CONCURRENCY = numberFlag('concurrency', 16);
const GOAL = 0.7;
const WARMUP = !process.argv.includes('--no-warmup');

const passThrough = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const echoDefinition: grpc.ServiceDefinition = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough.serialize,
    requestDeserialize: passThrough.deserialize,
    responseSerialize: passThrough.serialize,
    responseDeserialize: passThrough.deserialize,
  },
};

async function startEcho(socket: string): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(echoDefinition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-csi-'));
const echoServer = await startEcho(path.join(dir, 'echo.sock'));
const echoClient = new grpc.Client(
  `unix://${path.join(dir, 'echo.sock')}`,
  grpc.credentials.createInsecure(),
);
const driver = await startLocalDriver({
  endpoint: path.join(dir, 'csi.sock'),
  nodeId: 'bench-node',
  dataDir: path.join(dir, 'volumes'),
});
const csi = new CsiClient(driver.endpoint);
await csi.waitForReady(5_000);

// A message of the size a CreateVolume request has on the wire.
const payload = Buffer.alloc(96, 1);
function echo(): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    echoClient.makeUnaryRequest(
      '/bench.Echo/Echo',
      passThrough.serialize,
      passThrough.deserialize,
      payload,
      { deadline: Date.now() + 30_000 },
      (err, value) => (err ? reject(err) : resolve(value!)),
    ),
  );
}

const capability = {
  mount: { fs_type: 'ext4', mount_flags: [] },
  access_mode: { mode: 'SINGLE_NODE_WRITER' as const },
};
async function createDeleteTwice(worker: number, i: number): Promise<void> {
  const request = {
    name: `pvc-bench-${worker}-${i}`,
    capacity_range: { required_bytes: String(1 << 20) },
    volume_capabilities: [capability],
  };
  const created = await csi.createVolume(request);
  await csi.createVolume(request);
  await csi.deleteVolume({ volume_id: created.volume!.volume_id });
  await csi.deleteVolume({ volume_id: created.volume!.volume_id });
}

/**
 * Alternates echo and subject runs ROUNDS times; each round's ratio is taken against the mean of
 * the echo runs either side of it, and the median round is printed (the load of other work on
 * the machine drifts from second to second). CPU per RPC is the steadier figure of the two.
 * One subject run before the rounds is not counted: it pays for compiling the row's code paths
 * (protobuf codecs, handlers), which the echo path, warmed by the rows before, no longer does.
 */
async function row(name: string, rpcsPerOp: number, op: (w: number, i: number) => Promise<unknown>) {
  if (WARMUP) await closedLoop(SECONDS, CONCURRENCY, op);
  const echoRuns = [await closedLoop(SECONDS, CONCURRENCY, echo)];
  const rates: number[] = [];
  const cpuRatios: number[] = [];
  const ratios: number[] = [];
  const p99s: number[] = [];
  const busy: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const loopBefore = performance.eventLoopUtilization();
    const subject = await closedLoop(SECONDS, CONCURRENCY, op);
    busy.push(performance.eventLoopUtilization(loopBefore).utilization);
    echoRuns.push(await closedLoop(SECONDS, CONCURRENCY, echo));
    const [before, after] = echoRuns.slice(-2) as [LoopResult, LoopResult];
    const rate = subject.rate * rpcsPerOp;
    rates.push(rate);
    ratios.push(rate / ((before.rate + after.rate) / 2));
    cpuRatios.push((before.cpuMicrosPerOp + after.cpuMicrosPerOp) / 2 / (subject.cpuMicrosPerOp / rpcsPerOp));
    p99s.push(percentile(subject.latencies, 99));
  }
  const ratio = median(ratios);
  const echoRate = median(echoRuns.map((run) => run.rate));
  console.log(
    `${name.padEnd(34)} ${median(rates).toFixed(0).padStart(6)} RPCs/s (echo ${echoRate.toFixed(0)}/s): ` +
      `${ratio.toFixed(2)}x by wall time, ${median(cpuRatios).toFixed(2)}x by CPU per RPC; ` +
      `p99 ${median(p99s).toFixed(1)} ms per op; event loop busy ${(100 * median(busy)).toFixed(0)}%; goal >= ${GOAL}x ${ratio >= GOAL ? 'ok' : 'MISSED'}`,
  );
}

try {
  console.log(machineLine());
  console.log(
    `csi-rpc: ${ROUNDS} rounds of ${SECONDS} s per run${WARMUP ? ' after one uncounted warm-up run per row' : ''}, ` +
      `${CONCURRENCY} calls in flight, one process, unix sockets`,
  );
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  if (only !== 'volumes') await row('NodeGetCapabilities', 1, () => csi.nodeGetCapabilities());
  if (only !== 'capabilities') await row('CreateVolume x2 + DeleteVolume x2', 4, createDeleteTwice);
} finally {
  csi.close();
  echoClient.close();
  await driver.shutdown();
  echoServer.forceShutdown();
  await rm(dir, { recursive: true, force: true });
}
