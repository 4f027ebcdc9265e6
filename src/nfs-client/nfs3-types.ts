// NFSv3 (RFC 1813) and MOUNT v3 data types with their XDR encoders and decoders. Pure.
import { XdrError } from './xdr.js';
import type { XdrReader, XdrWriter } from './xdr.js';

export const PROGRAM = { PORTMAP: 100000, NFS: 100003, MOUNT: 100005 } as const;
export const NFS_VERSION = 3;
export const MOUNT_VERSION = 3;
export const PORTMAP_VERSION = 2;
export const IPPROTO_TCP = 6;
export const FHSIZE3 = 64;
export const MNTPATHLEN = 1024;

export const NFSPROC3 = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  READDIRPLUS: 17,
  FSSTAT: 18,
  COMMIT: 21,
} as const;

/** WRITE stability: UNSTABLE writes are made durable by one COMMIT at the end. */
export const STABLE_HOW = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;
/** CREATE modes: GUARDED fails with EXIST when the name is taken. */
export const CREATE_MODE = { UNCHECKED: 0, GUARDED: 1 } as const;

export const MOUNTPROC3 = { NULL: 0, MNT: 1, UMNT: 3, EXPORT: 5 } as const;
export const PMAPPROC_GETPORT = 3;

export const FILE_TYPES = ['', 'reg', 'dir', 'blk', 'chr', 'lnk', 'sock', 'fifo'] as const;
export type FileType = Exclude<(typeof FILE_TYPES)[number], ''>;

export interface NfsTime {
  seconds: number;
  nseconds: number;
}

export interface Fattr3 {
  type: FileType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  rdev: [number, number];
  fsid: bigint;
  fileid: bigint;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
}

/** What SETATTR/MKDIR should set; absent fields are left alone (the server picks for MKDIR). */
export interface Sattr3 {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
}

export function writeTime(w: XdrWriter, t: NfsTime): void {
  w.uint32(t.seconds).uint32(t.nseconds);
}

export function readTime(r: XdrReader): NfsTime {
  return { seconds: r.uint32(), nseconds: r.uint32() };
}

export function writeFattr3(w: XdrWriter, a: Fattr3): void {
  w.uint32(FILE_TYPES.indexOf(a.type)).uint32(a.mode).uint32(a.nlink).uint32(a.uid).uint32(a.gid);
  w.uint64(a.size).uint64(a.used).uint32(a.rdev[0]).uint32(a.rdev[1]).uint64(a.fsid).uint64(a.fileid);
  writeTime(w, a.atime);
  writeTime(w, a.mtime);
  writeTime(w, a.ctime);
}

export function readFattr3(r: XdrReader): Fattr3 {
  const typeCode = r.uint32();
  const type = FILE_TYPES[typeCode];
  if (!type) throw new XdrError(`invalid ftype3 ${typeCode}`);
  return {
    type,
    mode: r.uint32(),
    nlink: r.uint32(),
    uid: r.uint32(),
    gid: r.uint32(),
    size: r.uint64(),
    used: r.uint64(),
    rdev: [r.uint32(), r.uint32()],
    fsid: r.uint64(),
    fileid: r.uint64(),
    atime: readTime(r),
    mtime: readTime(r),
    ctime: readTime(r),
  };
}

export function readPostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.optional(readFattr3);
}

/** wcc_data: pre-op (size, mtime, ctime) and post-op attributes; callers only skip past it. */
export function skipWccData(r: XdrReader): void {
  r.optional((x) => {
    x.uint64();
    readTime(x);
    readTime(x);
  });
  readPostOpAttr(r);
}

export function writeSattr3(w: XdrWriter, s: Sattr3): void {
  w.optional(s.mode, (x, v) => x.uint32(v));
  w.optional(s.uid, (x, v) => x.uint32(v));
  w.optional(s.gid, (x, v) => x.uint32(v));
  w.optional(s.size, (x, v) => x.uint64(v));
  w.uint32(0); // atime: DONT_CHANGE
  w.uint32(0); // mtime: DONT_CHANGE
}

export function readSattr3(r: XdrReader): Sattr3 {
  const out: Sattr3 = {};
  const mode = r.optional((x) => x.uint32());
  const uid = r.optional((x) => x.uint32());
  const gid = r.optional((x) => x.uint32());
  const size = r.optional((x) => x.uint64());
  if (mode !== undefined) out.mode = mode;
  if (uid !== undefined) out.uid = uid;
  if (gid !== undefined) out.gid = gid;
  if (size !== undefined) out.size = size;
  for (let i = 0; i < 2; i++) if (r.uint32() === 2) readTime(r);
  return out;
}

export function writeFh(w: XdrWriter, fh: Buffer): void {
  w.opaque(fh, FHSIZE3);
}

export function readFh(r: XdrReader): Buffer {
  return r.opaque(FHSIZE3);
}

export function writeDirOp(w: XdrWriter, dir: Buffer, name: string): void {
  writeFh(w, dir);
  w.string(name);
}

export interface DirEntryPlus {
  fileid: bigint;
  name: string;
  cookie: bigint;
  attributes?: Fattr3;
  handle?: Buffer;
}

export interface ReaddirPlusPage {
  cookieVerifier: Buffer;
  entries: DirEntryPlus[];
  eof: boolean;
}

/** READDIRPLUS3resok after the status and dir attributes. */
export function readReaddirPlusOk(r: XdrReader): ReaddirPlusPage {
  const cookieVerifier = r.fixedOpaque(8);
  const entries: DirEntryPlus[] = [];
  while (r.bool()) {
    const fileid = r.uint64();
    const name = r.string();
    const cookie = r.uint64();
    const attributes = readPostOpAttr(r);
    const handle = r.optional(readFh);
    const entry: DirEntryPlus = { fileid, name, cookie };
    if (attributes) entry.attributes = attributes;
    if (handle) entry.handle = handle;
    entries.push(entry);
  }
  return { cookieVerifier, entries, eof: r.bool() };
}

export function writeReaddirPlusOk(w: XdrWriter, page: ReaddirPlusPage): void {
  w.fixedOpaque(page.cookieVerifier);
  for (const entry of page.entries) {
    w.bool(true).uint64(entry.fileid).string(entry.name).uint64(entry.cookie);
    w.optional(entry.attributes, writeFattr3);
    w.optional(entry.handle, writeFh);
  }
  w.bool(false).bool(page.eof);
}
