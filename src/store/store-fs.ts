// The file operations through which the store writes, injectable so that tests can make a
// write or an fsync fail (EIO) exactly where they choose. Reads go to node:fs directly.
import { open as openFile, type FileHandle } from 'node:fs/promises';

export interface StoreFs {
  /** Opens a file the store writes (log segments, snapshots, the shutdown marker, directories). */
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
}

export const nodeStoreFs: StoreFs = { open: (path, flags, mode) => openFile(path, flags, mode) };

/** Every file the store creates is readable by its owner only: Secrets live in it. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;
