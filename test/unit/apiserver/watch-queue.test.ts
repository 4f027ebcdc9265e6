import assert from 'node:assert/strict';
import { WatchQueue, httpChunk, maxWriteBytes } from '../../../src/apiserver/watch-queue.js';

const bytes = (text: string): Buffer => Buffer.from(text);

/** Takes every chunk with `limit`, as the stream writes them. */
function drain(queue: WatchQueue, limit: number): string[] {
  const chunks: string[] = [];
  for (let chunk = queue.take(limit); chunk; chunk = queue.take(limit)) chunks.push(chunk.toString());
  return chunks;
}

describe('apiserver/watch-queue WatchQueue', function () {
  it('joins the waiting lines into one chunk when they fit', function () {
    const queue = new WatchQueue();
    queue.push(bytes('a\n'));
    queue.push(bytes('bb\n'));
    assert.equal(queue.bytes, 5);
    assert.deepEqual(drain(queue, 100), ['a\nbb\n']);
    assert.equal(queue.bytes, 0);
    assert.equal(queue.length, 0);
    assert.equal(queue.take(), undefined);
  });

  it('never writes more than the limit: a large batch goes out in slices, every byte once, in order', function () {
    const queue = new WatchQueue();
    queue.push(bytes('0123456789'));
    queue.push(bytes('ab'));
    queue.push(bytes('cdefghij'));
    const chunks = drain(queue, 4);
    assert.deepEqual(chunks, ['0123', '4567', '89ab', 'cdef', 'ghij']);
    assert.equal(queue.bytes, 0);
  });

  it('a part cut by the limit continues where it stopped, also after more is pushed', function () {
    const queue = new WatchQueue();
    queue.push(bytes('abcdef'));
    assert.equal(queue.take(4)?.toString(), 'abcd');
    queue.push(bytes('gh'));
    assert.equal(queue.bytes, 4);
    assert.deepEqual(drain(queue, 100), ['efgh']);
  });

  it('slices a part larger than the default limit without copying it', function () {
    const big = Buffer.alloc(maxWriteBytes * 2 + 10, 'x');
    const queue = new WatchQueue();
    queue.push(big);
    const first = queue.take()!;
    assert.equal(first.length, maxWriteBytes);
    assert.equal(first.buffer, big.buffer, 'a slice of the same memory');
    assert.equal(queue.take()!.length, maxWriteBytes);
    assert.equal(queue.take()!.length, 10);
    assert.equal(queue.take(), undefined);
  });

  it('streams that take the same parts get the same joined buffer', function () {
    const a = bytes('one\n');
    const b = bytes('two\n');
    const first = new WatchQueue();
    const second = new WatchQueue();
    for (const queue of [first, second]) {
      queue.push(a);
      queue.push(b);
    }
    const chunk = first.take();
    assert.equal(chunk?.toString(), 'one\ntwo\n');
    assert.equal(second.take(), chunk, 'shared, not joined again');
  });

  it('rest() hands out everything left at once; clear() drops it', function () {
    const queue = new WatchQueue();
    queue.push(bytes('abcdef'));
    queue.take(2);
    queue.push(bytes('gh'));
    assert.equal(queue.rest().toString(), 'cdefgh');
    assert.equal(queue.rest().length, 0);
    queue.push(bytes('x'));
    queue.clear();
    assert.equal(queue.bytes, 0);
    assert.equal(queue.take(), undefined);
  });

  it('ignores empty parts', function () {
    const queue = new WatchQueue();
    queue.push(Buffer.alloc(0));
    assert.equal(queue.length, 0);
    assert.equal(queue.take(), undefined);
  });

  it('clear() returns the unwritten end of a part written partly, so that a chunk is finished', function () {
    const queue = new WatchQueue();
    queue.push(bytes('abcdef'));
    queue.push(bytes('gh'));
    queue.take(4);
    assert.equal(queue.clear()?.toString(), 'ef');
    queue.push(bytes('ij'));
    assert.equal(queue.clear(), undefined, 'nothing of it written');
  });
});

describe('apiserver/watch-queue httpChunk', function () {
  it('frames data as one HTTP/1.1 chunk: hex size, CRLF, the data, CRLF', function () {
    assert.equal(httpChunk(bytes('{"a":1}\n')).toString(), '8\r\n{"a":1}\n\r\n');
    const big = Buffer.alloc(300, 'x');
    assert.equal(httpChunk(big).toString('latin1', 0, 5), '12c\r\n');
    assert.equal(httpChunk(big).length, 5 + 300 + 2);
  });

  it('frames a buffer once, for every stream that writes it', function () {
    const line = bytes('shared\n');
    assert.equal(httpChunk(line), httpChunk(line));
  });
});
