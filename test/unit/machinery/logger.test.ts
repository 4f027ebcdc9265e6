import assert from 'node:assert/strict';
import { JsonLogger, silentLogger } from '../../../src/machinery/logger.js';

function sink(): { lines: () => Record<string, unknown>[]; write(chunk: string): void } {
  const chunks: string[] = [];
  return {
    write: (chunk: string) => void chunks.push(chunk),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('machinery/logger', () => {
  const now = (): Date => new Date(Date.UTC(2025, 0, 2, 3, 4, 5));

  it('writes one JSON object per line with time, level, msg and fields', () => {
    const s = sink();
    new JsonLogger(s, { now }).info('claim bound', { claim: 'ns/a', volume: 'pv-1' });
    assert.deepEqual(s.lines(), [
      { time: '2025-01-02T03:04:05.000Z', level: 'info', msg: 'claim bound', claim: 'ns/a', volume: 'pv-1' },
    ]);
  });

  it('drops lines below its level', () => {
    const s = sink();
    const log = new JsonLogger(s, { level: 'warn', now });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(
      s.lines().map((l) => l['level']),
      ['warn', 'error'],
    );
  });

  it('child loggers carry their fields and the parent level', () => {
    const s = sink();
    const log = new JsonLogger(s, { level: 'debug', now, fields: { component: 'pv' } }).child({
      key: 'ns/a',
    });
    log.debug('x', { n: 1 });
    assert.deepEqual(s.lines()[0], {
      time: '2025-01-02T03:04:05.000Z',
      level: 'debug',
      msg: 'x',
      component: 'pv',
      key: 'ns/a',
      n: 1,
    });
  });

  it('serializes errors, bigints and survives circular fields', () => {
    const s = sink();
    const log = new JsonLogger(s, { now });
    const err = Object.assign(new Error('boom'), { code: 409, reason: 'Conflict' });
    log.error('failed', { err, big: 10n });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    log.error('circular', { circular });
    const [first, second] = s.lines();
    const e = first?.['err'] as Record<string, unknown>;
    assert.equal(e['message'], 'boom');
    assert.equal(e['code'], 409);
    assert.equal(e['reason'], 'Conflict');
    assert.equal(first?.['big'], '10');
    assert.equal(second?.['msg'], 'circular');
    assert.equal(second?.['logError'], 'fields not serializable');
  });

  it('silentLogger accepts everything and writes nothing', () => {
    silentLogger.child({ a: 1 }).error('nothing', { b: 2 });
  });
});
