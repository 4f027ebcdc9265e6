import assert from 'node:assert/strict';
import { checkHostPathType, type PathKind } from '../../../src/node/host-path-type.js';

describe('hostPath type checks', function () {
  const cases: { type: string; found: PathKind; want: string }[] = [
    { type: '', found: 'missing', want: 'create directory' },
    { type: '', found: 'socket', want: 'ok' },
    { type: 'DirectoryOrCreate', found: 'missing', want: 'create directory' },
    { type: 'DirectoryOrCreate', found: 'directory', want: 'ok' },
    { type: 'DirectoryOrCreate', found: 'file', want: 'hostPath type check failed: /p is not a directory' },
    { type: 'Directory', found: 'missing', want: 'hostPath type check failed: /p is not a directory' },
    { type: 'Directory', found: 'directory', want: 'ok' },
    { type: 'FileOrCreate', found: 'missing', want: 'create file' },
    { type: 'FileOrCreate', found: 'directory', want: 'hostPath type check failed: /p is not a file' },
    { type: 'File', found: 'file', want: 'ok' },
    { type: 'File', found: 'missing', want: 'hostPath type check failed: /p is not a file' },
    { type: 'Socket', found: 'socket', want: 'ok' },
    { type: 'Socket', found: 'file', want: 'hostPath type check failed: /p is not a socket file' },
    { type: 'CharDevice', found: 'char-device', want: 'ok' },
    {
      type: 'CharDevice',
      found: 'block-device',
      want: 'hostPath type check failed: /p is not a character device',
    },
    { type: 'BlockDevice', found: 'block-device', want: 'ok' },
    { type: 'BlockDevice', found: 'missing', want: 'hostPath type check failed: /p is not a block device' },
    { type: 'Dir', found: 'directory', want: 'hostPath type check failed: unknown hostPath type "Dir"' },
  ];
  for (const c of cases) {
    it(`${c.type || '""'} with ${c.found}: ${c.want}`, function () {
      const v = checkHostPathType(c.type, '/p', c.found);
      const got = v.ok ? (v.create ? `create ${v.create}` : 'ok') : v.message;
      assert.equal(got, c.want);
    });
  }
});
