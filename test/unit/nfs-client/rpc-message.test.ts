import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { getPort } from '../../../src/nfs-client/client.js';
import { NfsUnavailableError } from '../../../src/nfs-client/errors.js';
import type { Fattr3, ReaddirPlusPage } from '../../../src/nfs-client/nfs3-types.js';
import {
  readFattr3,
  readReaddirPlusOk,
  readSattr3,
  writeFattr3,
  writeReaddirPlusOk,
  writeSattr3,
} from '../../../src/nfs-client/nfs3-types.js';
import { RecordDecoder, encodeRecord } from '../../../src/nfs-client/record.js';
import { RpcConnection } from '../../../src/nfs-client/rpc-connection.js';
import {
  AUTH_SYS,
  decodeCall,
  decodeReply,
  encodeAuthSys,
  encodeCall,
  encodeSuccessReply,
} from '../../../src/nfs-client/rpc-message.js';
import { XdrReader, XdrWriter } from '../../../src/nfs-client/xdr.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const time = fc.record(
  { seconds: u32, nseconds: fc.integer({ min: 0, max: 999_999_999 }) },
  { noNullPrototype: true },
);
const fattr: fc.Arbitrary<Fattr3> = fc.record(
  {
    type: fc.constantFrom('reg', 'dir', 'blk', 'chr', 'lnk', 'sock', 'fifo' as const),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    nlink: u32,
    uid: u32,
    gid: u32,
    size: u64,
    used: u64,
    rdev: fc.tuple(u32, u32),
    fsid: u64,
    fileid: u64,
    atime: time,
    mtime: time,
    ctime: time,
  },
  { noNullPrototype: true },
);

describe('ONC RPC messages', function () {
  it('a call round-trips through encodeCall/decodeCall with AUTH_SYS credentials', function () {
    fc.assert(
      fc.property(
        u32,
        u32,
        u32,
        u32,
        fc.uint8Array({ maxLength: 40 }),
        (xid, program, version, procedure, raw) => {
          const args = Buffer.concat([Buffer.from(raw), Buffer.alloc((4 - (raw.length % 4)) % 4)]);
          const auth = { stamp: 1, machineName: 'node-a', uid: 0, gid: 0, gids: [0, 5] };
          const call = decodeCall(encodeCall({ xid, program, version, procedure, auth, args }));
          assert.deepEqual(
            { ...call, credentials: call.credentials.toString('hex'), args: call.args.toString('hex') },
            {
              xid,
              program,
              version,
              procedure,
              credFlavor: AUTH_SYS,
              credentials: encodeAuthSys(auth).toString('hex'),
              args: args.toString('hex'),
            },
          );
        },
      ),
    );
  });

  it('decodes success, accept errors and denials', function () {
    const body = new XdrWriter().uint32(42).toBuffer();
    assert.deepEqual(decodeReply(encodeSuccessReply(7, body)), { xid: 7, kind: 'success', body });
    const progUnavail = new XdrWriter()
      .uint32(8)
      .uint32(1)
      .uint32(0)
      .uint32(0)
      .uint32(0)
      .uint32(1)
      .toBuffer();
    assert.deepEqual(decodeReply(progUnavail), { xid: 8, kind: 'accept-error', status: 'PROG_UNAVAIL' });
    const authError = new XdrWriter().uint32(9).uint32(1).uint32(1).uint32(1).uint32(5).toBuffer();
    assert.deepEqual(decodeReply(authError), { xid: 9, kind: 'denied', reason: 'AUTH_TOOWEAK' });
  });

  it('fattr3, sattr3 and READDIRPLUS pages round-trip', function () {
    fc.assert(
      fc.property(fattr, (attributes) => {
        const w = new XdrWriter();
        writeFattr3(w, attributes);
        assert.deepEqual(readFattr3(new XdrReader(w.toBuffer())), attributes);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({ mode: u32, uid: u32, gid: u32, size: u64 }, { requiredKeys: [], noNullPrototype: true }),
        (sattr) => {
          const w = new XdrWriter();
          writeSattr3(w, sattr);
          assert.deepEqual(readSattr3(new XdrReader(w.toBuffer())), sattr);
        },
      ),
    );
    const entry = fc.record(
      {
        fileid: u64,
        name: fc.string({ minLength: 1, maxLength: 20 }),
        cookie: u64,
        attributes: fattr,
        handle: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
      },
      { requiredKeys: ['fileid', 'name', 'cookie'], noNullPrototype: true },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.boolean(), (entries, eof) => {
        const page: ReaddirPlusPage = { cookieVerifier: Buffer.alloc(8, 3), entries, eof };
        const w = new XdrWriter();
        writeReaddirPlusOk(w, page);
        assert.deepEqual(readReaddirPlusOk(new XdrReader(w.toBuffer())), page);
      }),
    );
  });
});

/** A portmapper played over a real TCP socket on 127.0.0.1, answering GETPORT from a table. */
async function fakePortmapper(table: Record<string, number>, options: { silent?: boolean } = {}) {
  const server = net.createServer((socket) => {
    const decoder = new RecordDecoder();
    socket.on('data', (chunk) => {
      for (const record of decoder.push(chunk)) {
        if (options.silent) continue;
        const call = decodeCall(record);
        const r = new XdrReader(call.args);
        const key = `${r.uint32()}/${r.uint32()}/${r.uint32()}`;
        const port = new XdrWriter().uint32(table[key] ?? 0).toBuffer();
        socket.write(encodeRecord(encodeSuccessReply(call.xid, port), 3));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return { port: address.port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('RpcConnection over TCP', function () {
  it('GETPORT asks the portmapper, reassembling a reply split into fragments', async function () {
    const pm = await fakePortmapper({ '100003/3/6': 2049, '100005/3/6': 20048 });
    try {
      assert.equal(await getPort({ host: '127.0.0.1', port: pm.port }, 100003, 3), 2049);
      assert.equal(await getPort({ host: '127.0.0.1', port: pm.port }, 100005, 3), 20048);
      await assert.rejects(getPort({ host: '127.0.0.1', port: pm.port }, 100003, 4), (err: unknown) => {
        return err instanceof NfsUnavailableError && err.reason === 'no-port';
      });
    } finally {
      await pm.close();
    }
  });

  it('fails a call that gets no answer within its deadline, and a refused connection at once', async function () {
    const pm = await fakePortmapper({}, { silent: true });
    try {
      const connection = await RpcConnection.connect(
        { host: '127.0.0.1', port: pm.port },
        { callTimeoutMs: 100 },
      );
      const started = Date.now();
      await assert.rejects(connection.call(100000, 2, 0, Buffer.alloc(0)), (err: unknown) => {
        return err instanceof NfsUnavailableError && err.reason === 'timeout';
      });
      assert.ok(Date.now() - started < 1_000);
      connection.close();
    } finally {
      await pm.close();
    }
    await assert.rejects(RpcConnection.connect({ host: '127.0.0.1', port: pm.port }), (err: unknown) => {
      return err instanceof NfsUnavailableError && err.reason === 'connect-failed';
    });
  });
});
