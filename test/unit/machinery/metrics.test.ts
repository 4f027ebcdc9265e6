import assert from 'node:assert/strict';
import { register } from 'prom-client';
import { FakeClock } from '../../../src/machinery/clock.js';
import { ItemExponentialFailureRateLimiter } from '../../../src/machinery/rate-limiter.js';
import { WorkQueue } from '../../../src/machinery/workqueue.js';
import { goCodeName, observeCsiCall } from '../../../src/csi/metrics.js';

function sample(text: string, name: string, queue: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{name="${queue}"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('machinery/metrics (workqueue_*) and csi metrics', () => {
  it('a named queue reports depth, adds, retries, and time queued and worked', async () => {
    const clock = new FakeClock(0);
    const q = new WorkQueue({
      name: 'metrics-test',
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter(10, 100),
    });
    q.add('a');
    q.add('a'); // de-duplicated: not another add
    q.add('b');
    let text = await register.metrics();
    assert.equal(sample(text, 'workqueue_depth', 'metrics-test'), 2);
    assert.equal(sample(text, 'workqueue_adds_total', 'metrics-test'), 2);
    clock.advance(2000);
    const key = await q.get();
    clock.advance(500);
    text = await register.metrics();
    assert.equal(sample(text, 'workqueue_longest_running_processor_seconds', 'metrics-test'), 0.5);
    q.addRateLimited(key!);
    q.done(key!);
    text = await register.metrics();
    assert.equal(sample(text, 'workqueue_retries_total', 'metrics-test'), 1);
    assert.equal(sample(text, 'workqueue_queue_duration_seconds_sum', 'metrics-test'), 2);
    assert.equal(sample(text, 'workqueue_work_duration_seconds_sum', 'metrics-test'), 0.5);
    q.shutDown();
    text = await register.metrics();
    assert.equal(
      sample(text, 'workqueue_depth', 'metrics-test'),
      undefined,
      'a stopped queue reports no depth',
    );
  });

  it('CSI calls are counted by driver, full method name and Go-spelled status code', async () => {
    assert.equal(goCodeName('RESOURCE_EXHAUSTED'), 'ResourceExhausted');
    assert.equal(goCodeName('OK'), 'OK');
    observeCsiCall('d.example.com', 'Controller', 'CreateVolume', 'DEADLINE_EXCEEDED', 0.2);
    const text = await register.metrics();
    assert.match(
      text,
      /csi_sidecar_operations_seconds_count\{driver_name="d.example.com",method_name="\/csi.v1.Controller\/CreateVolume",grpc_status_code="DeadlineExceeded"\} 1/,
    );
  });
});
