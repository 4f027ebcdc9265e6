import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readProcFile } from '../../../src/host/proc-file.js';

describe('readProcFile', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-proc-file-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a proc file whole, as readFileSync does', function () {
    for (const file of ['/proc/self/mountinfo', '/proc/self/status']) {
      const text = readProcFile(file);
      assert.ok(text.length > 0, file);
      assert.equal(text.split('\n')[0], readFileSync(file, 'latin1').split('\n')[0], file);
    }
  });

  it('reads files larger than its buffer, and smaller ones after them, byte for byte', function () {
    const large = path.join(dir, 'large');
    const content = 'line of a partitions file\n'.repeat(3000) + '\u00e9 end';
    writeFileSync(large, content, 'latin1');
    assert.equal(readProcFile(large), content);
    const small = path.join(dir, 'small');
    writeFileSync(small, 'short\n');
    assert.equal(readProcFile(small), 'short\n');
    writeFileSync(small, '');
    assert.equal(readProcFile(small), '');
  });

  it('throws for a file that is not there', function () {
    assert.throws(() => readProcFile(path.join(dir, 'none')), { code: 'ENOENT' });
  });
});
