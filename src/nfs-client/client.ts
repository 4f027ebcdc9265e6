// A small NFSv3 client: enough to manage directories on an export without mounting it (what a CSI
// controller needs), speaking MOUNT v3 and NFS v3 over TCP with AUTH_SYS root credentials.
import { MountError, NFS3ERR, NfsError, NfsUnavailableError } from './errors.js';
import type { Fattr3, ReaddirPlusPage, Sattr3 } from './nfs3-types.js';
import {
  CREATE_MODE,
  IPPROTO_TCP,
  MNTPATHLEN,
  MOUNTPROC3,
  MOUNT_VERSION,
  NFSPROC3,
  NFS_VERSION,
  PMAPPROC_GETPORT,
  PORTMAP_VERSION,
  PROGRAM,
  STABLE_HOW,
  readFattr3,
  readFh,
  readPostOpAttr,
  readReaddirPlusOk,
  skipWccData,
  writeDirOp,
  writeFh,
  writeSattr3,
} from './nfs3-types.js';
import type { RpcAddress, RpcConnectOptions } from './rpc-connection.js';
import { RpcConnection } from './rpc-connection.js';
import { XdrReader, XdrWriter } from './xdr.js';

export interface NfsServerOptions {
  host: string;
  /** NFS port; asked from the portmapper when absent. */
  nfsPort?: number;
  /** MOUNT port; asked from the portmapper when absent. */
  mountPort?: number;
  /** Where to reach the portmapper (rpcbind): default TCP port 111 on `host`. */
  portmapper?: RpcAddress;
  connectTimeoutMs?: number;
  callTimeoutMs?: number;
}

export interface NfsEntry {
  name: string;
  fileid: bigint;
  handle: Buffer;
  attributes: Fattr3;
}

export interface FoundObject {
  handle: Buffer;
  attributes: Fattr3;
}

function rpcOptions(options: NfsServerOptions): RpcConnectOptions {
  const out: RpcConnectOptions = {};
  if (options.connectTimeoutMs !== undefined) out.connectTimeoutMs = options.connectTimeoutMs;
  if (options.callTimeoutMs !== undefined) out.callTimeoutMs = options.callTimeoutMs;
  return out;
}

/** Asks the portmapper (v2 GETPORT) which TCP port serves `program`/`version`. */
export async function getPort(
  portmapper: RpcAddress,
  program: number,
  version: number,
  options: RpcConnectOptions = {},
): Promise<number> {
  const connection = await RpcConnection.connect(portmapper, { ...options, auth: null });
  try {
    const args = new XdrWriter().uint32(program).uint32(version).uint32(IPPROTO_TCP).uint32(0).toBuffer();
    const body = await connection.call(PROGRAM.PORTMAP, PORTMAP_VERSION, PMAPPROC_GETPORT, args, 'GETPORT');
    const port = new XdrReader(body).uint32();
    if (port === 0) {
      throw new NfsUnavailableError(
        'no-port',
        connection.endpoint,
        `program ${program} v${version} is not registered`,
      );
    }
    return port;
  } finally {
    connection.close();
  }
}

/** Splits a relative path into names; rejects anything that could leave the starting directory. */
export function pathNames(relativePath: string): string[] {
  const names = relativePath.split('/').filter((name) => name !== '' && name !== '.');
  if (names.includes('..')) throw new Error(`path ${relativePath} must not contain ".."`);
  return names;
}

export class NfsClient {
  readonly host: string;
  readonly exportPath: string;
  readonly root: Buffer;
  private readonly connection: RpcConnection;

  private constructor(host: string, exportPath: string, root: Buffer, connection: RpcConnection) {
    this.host = host;
    this.exportPath = exportPath;
    this.root = root;
    this.connection = connection;
  }

  /** Resolves ports, mounts `exportPath` through MOUNT v3 and opens the NFS connection. */
  static async connect(options: NfsServerOptions, exportPath: string): Promise<NfsClient> {
    const rpc = rpcOptions(options);
    const portmapper = options.portmapper ?? { host: options.host, port: 111 };
    const mountPort = options.mountPort ?? (await getPort(portmapper, PROGRAM.MOUNT, MOUNT_VERSION, rpc));
    const root = await mountExport({ host: options.host, port: mountPort }, exportPath, rpc);
    const nfsPort = options.nfsPort ?? (await getPort(portmapper, PROGRAM.NFS, NFS_VERSION, rpc));
    const connection = await RpcConnection.connect({ host: options.host, port: nfsPort }, rpc);
    return new NfsClient(options.host, exportPath, root, connection);
  }

  close(): void {
    this.connection.close();
  }

  private call(procedure: number, name: string, args: XdrWriter): Promise<XdrReader> {
    return this.connection
      .call(PROGRAM.NFS, NFS_VERSION, procedure, args.toBuffer(), name)
      .then((body) => new XdrReader(body));
  }

  async null(): Promise<void> {
    await this.call(NFSPROC3.NULL, 'NULL', new XdrWriter());
  }

  async getattr(handle: Buffer, path = '(handle)'): Promise<Fattr3> {
    const w = new XdrWriter();
    writeFh(w, handle);
    const r = await this.call(NFSPROC3.GETATTR, 'GETATTR', w);
    const status = r.uint32();
    if (status !== 0) throw new NfsError('GETATTR', status, path);
    return readFattr3(r);
  }

  async setattr(handle: Buffer, attributes: Sattr3, path = '(handle)'): Promise<void> {
    const w = new XdrWriter();
    writeFh(w, handle);
    writeSattr3(w, attributes);
    w.bool(false); // no ctime guard
    const r = await this.call(NFSPROC3.SETATTR, 'SETATTR', w);
    const status = r.uint32();
    if (status !== 0) throw new NfsError('SETATTR', status, path);
  }

  /** The object called `name` in `dir`, or undefined when there is none. */
  async lookup(dir: Buffer, name: string, path = name): Promise<FoundObject | undefined> {
    const w = new XdrWriter();
    writeDirOp(w, dir, name);
    const r = await this.call(NFSPROC3.LOOKUP, 'LOOKUP', w);
    const status = r.uint32();
    if (status === NFS3ERR.NOENT) return undefined;
    if (status !== 0) throw new NfsError('LOOKUP', status, path);
    const handle = readFh(r);
    const attributes = readPostOpAttr(r) ?? (await this.getattr(handle, path));
    return { handle, attributes };
  }

  /** Follows a relative path from the export's root. */
  async lookupPath(relativePath: string): Promise<FoundObject | undefined> {
    let current: FoundObject = { handle: this.root, attributes: await this.getattr(this.root, '/') };
    const walked: string[] = [];
    for (const name of pathNames(relativePath)) {
      walked.push(name);
      if (current.attributes.type !== 'dir') return undefined;
      const next = await this.lookup(current.handle, name, walked.join('/'));
      if (!next) return undefined;
      current = next;
    }
    return current;
  }

  /** Makes a directory; an existing one is looked up instead (`created` false), so retries are safe. */
  async mkdir(
    dir: Buffer,
    name: string,
    mode: number,
    path = name,
  ): Promise<FoundObject & { created: boolean }> {
    const w = new XdrWriter();
    writeDirOp(w, dir, name);
    writeSattr3(w, { mode });
    const r = await this.call(NFSPROC3.MKDIR, 'MKDIR', w);
    const status = r.uint32();
    if (status === NFS3ERR.EXIST) {
      const existing = await this.lookup(dir, name, path);
      if (!existing) throw new NfsError('MKDIR', status, path);
      if (existing.attributes.type !== 'dir') throw new NfsError('MKDIR', NFS3ERR.NOTDIR, path);
      return { ...existing, created: false };
    }
    if (status !== 0) throw new NfsError('MKDIR', status, path);
    const handle = r.optional(readFh);
    const attributes = readPostOpAttr(r);
    if (handle && attributes) return { handle, attributes, created: true };
    const found = await this.lookup(dir, name, path);
    if (!found) throw new NfsError('MKDIR', NFS3ERR.NOENT, path);
    return { ...found, created: true };
  }

  /** `mkdir -p` from the export's root; `mode` applies to the directories it makes. */
  async mkdirAll(relativePath: string, mode: number): Promise<FoundObject & { created: boolean }> {
    let current: FoundObject & { created: boolean } = {
      handle: this.root,
      attributes: await this.getattr(this.root, '/'),
      created: false,
    };
    const walked: string[] = [];
    for (const name of pathNames(relativePath)) {
      walked.push(name);
      current = await this.mkdir(current.handle, name, mode, walked.join('/'));
    }
    return current;
  }

  private async simpleDirOp(
    procedure: number,
    label: string,
    dir: Buffer,
    name: string,
    path: string,
  ): Promise<void> {
    const w = new XdrWriter();
    writeDirOp(w, dir, name);
    const r = await this.call(procedure, label, w);
    const status = r.uint32();
    skipWccData(r);
    if (status !== 0) throw new NfsError(label, status, path);
  }

  remove(dir: Buffer, name: string, path = name): Promise<void> {
    return this.simpleDirOp(NFSPROC3.REMOVE, 'REMOVE', dir, name, path);
  }

  rmdir(dir: Buffer, name: string, path = name): Promise<void> {
    return this.simpleDirOp(NFSPROC3.RMDIR, 'RMDIR', dir, name, path);
  }

  async rename(fromDir: Buffer, fromName: string, toDir: Buffer, toName: string): Promise<void> {
    const w = new XdrWriter();
    writeDirOp(w, fromDir, fromName);
    writeDirOp(w, toDir, toName);
    const r = await this.call(NFSPROC3.RENAME, 'RENAME', w);
    const status = r.uint32();
    if (status !== 0) throw new NfsError('RENAME', status, `${fromName} -> ${toName}`);
  }

  private async readdirPlusPage(
    dir: Buffer,
    cookie: bigint,
    verifier: Buffer,
    path: string,
  ): Promise<ReaddirPlusPage> {
    const w = new XdrWriter();
    writeFh(w, dir);
    w.uint64(cookie).fixedOpaque(verifier).uint32(8192).uint32(32768);
    const r = await this.call(NFSPROC3.READDIRPLUS, 'READDIRPLUS', w);
    const status = r.uint32();
    readPostOpAttr(r);
    if (status !== 0) throw new NfsError('READDIRPLUS', status, path);
    return readReaddirPlusOk(r);
  }

  /** Every entry of a directory except `.` and `..`, with handles and attributes. */
  async readdir(dir: Buffer, path = '(dir)'): Promise<NfsEntry[]> {
    const out: NfsEntry[] = [];
    let cookie = 0n;
    let verifier: Buffer = Buffer.alloc(8);
    for (;;) {
      const page = await this.readdirPlusPage(dir, cookie, verifier, path);
      for (const entry of page.entries) {
        cookie = entry.cookie;
        if (entry.name === '.' || entry.name === '..') continue;
        const found =
          entry.handle && entry.attributes
            ? { handle: entry.handle, attributes: entry.attributes }
            : await this.lookup(dir, entry.name, `${path}/${entry.name}`);
        if (found) out.push({ name: entry.name, fileid: entry.fileid, ...found });
      }
      verifier = page.cookieVerifier;
      if (page.eof || page.entries.length === 0) return out;
    }
  }

  /** Makes a regular file (GUARDED: an existing name fails with EXIST) and returns its handle. */
  async create(dir: Buffer, name: string, mode: number, path = name): Promise<FoundObject> {
    const w = new XdrWriter();
    writeDirOp(w, dir, name);
    w.uint32(CREATE_MODE.GUARDED);
    writeSattr3(w, { mode });
    return this.madeObject(NFSPROC3.CREATE, 'CREATE', w, dir, name, path);
  }

  async symlink(dir: Buffer, name: string, linkTarget: string, path = name): Promise<FoundObject> {
    const w = new XdrWriter();
    writeDirOp(w, dir, name);
    writeSattr3(w, {});
    w.string(linkTarget);
    return this.madeObject(NFSPROC3.SYMLINK, 'SYMLINK', w, dir, name, path);
  }

  /** CREATE/SYMLINK results: post_op_fh3, post_op_attr, dir wcc_data (looked up when omitted). */
  private async madeObject(
    procedure: number,
    label: string,
    args: XdrWriter,
    dir: Buffer,
    name: string,
    path: string,
  ): Promise<FoundObject> {
    const r = await this.call(procedure, label, args);
    const status = r.uint32();
    if (status !== 0) throw new NfsError(label, status, path);
    const handle = r.optional(readFh);
    const attributes = readPostOpAttr(r);
    if (handle && attributes) return { handle, attributes };
    const found = await this.lookup(dir, name, path);
    if (!found) throw new NfsError(label, NFS3ERR.NOENT, path);
    return found;
  }

  async readlink(handle: Buffer, path = '(link)'): Promise<string> {
    const w = new XdrWriter();
    writeFh(w, handle);
    const r = await this.call(NFSPROC3.READLINK, 'READLINK', w);
    const status = r.uint32();
    readPostOpAttr(r);
    if (status !== 0) throw new NfsError('READLINK', status, path);
    return r.string();
  }

  /** Up to `count` bytes at `offset`; `eof` once the end of the file is reached. */
  async read(
    handle: Buffer,
    offset: bigint,
    count: number,
    path = '(file)',
  ): Promise<{ data: Buffer; eof: boolean }> {
    const w = new XdrWriter();
    writeFh(w, handle);
    w.uint64(offset).uint32(count);
    const r = await this.call(NFSPROC3.READ, 'READ', w);
    const status = r.uint32();
    readPostOpAttr(r);
    if (status !== 0) throw new NfsError('READ', status, path);
    r.uint32(); // count, repeated by the opaque's length
    const eof = r.bool();
    return { data: r.opaque(), eof };
  }

  /** An UNSTABLE write of all of `data` (the server may take less per call; the rest is sent again). */
  async write(handle: Buffer, offset: bigint, data: Buffer, path = '(file)'): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const w = new XdrWriter(data.length - done + 128);
      writeFh(w, handle);
      const chunk = data.subarray(done);
      w.uint64(offset + BigInt(done))
        .uint32(chunk.length)
        .uint32(STABLE_HOW.UNSTABLE)
        .opaque(chunk);
      const r = await this.call(NFSPROC3.WRITE, 'WRITE', w);
      const status = r.uint32();
      skipWccData(r);
      if (status !== 0) throw new NfsError('WRITE', status, path);
      const count = r.uint32();
      if (count === 0) throw new NfsError('WRITE', NFS3ERR.IO, path);
      done += count;
    }
  }

  /** Makes every UNSTABLE write to the file durable. */
  async commit(handle: Buffer, path = '(file)'): Promise<void> {
    const w = new XdrWriter();
    writeFh(w, handle);
    w.uint64(0n).uint32(0);
    const r = await this.call(NFSPROC3.COMMIT, 'COMMIT', w);
    const status = r.uint32();
    skipWccData(r);
    if (status !== 0) throw new NfsError('COMMIT', status, path);
  }

  /** `rm -r` of `name` in `dir`; a missing entry is fine. Returns whether something was removed. */
  async removeAll(dir: Buffer, name: string, path = name): Promise<boolean> {
    const found = await this.lookup(dir, name, path);
    if (!found) return false;
    if (found.attributes.type === 'dir') {
      for (const entry of await this.readdir(found.handle, path)) {
        await this.removeAll(found.handle, entry.name, `${path}/${entry.name}`);
      }
      await this.rmdir(dir, name, path).catch((err: unknown) => {
        if (!(err instanceof NfsError && err.status === NFS3ERR.NOENT)) throw err;
      });
    } else {
      await this.remove(dir, name, path).catch((err: unknown) => {
        if (!(err instanceof NfsError && err.status === NFS3ERR.NOENT)) throw err;
      });
    }
    return true;
  }
}

/** MOUNT v3 MNT: the root file handle of an export. */
export async function mountExport(
  address: RpcAddress,
  exportPath: string,
  options: RpcConnectOptions = {},
): Promise<Buffer> {
  const connection = await RpcConnection.connect(address, options);
  try {
    const args = new XdrWriter().string(exportPath, MNTPATHLEN).toBuffer();
    const body = await connection.call(PROGRAM.MOUNT, MOUNT_VERSION, MOUNTPROC3.MNT, args, 'MNT');
    const r = new XdrReader(body);
    const status = r.uint32();
    if (status !== 0) throw new MountError(status, exportPath);
    return readFh(r);
  } finally {
    connection.close();
  }
}
