// One writer per warehouse: a lock file beside the DuckDB file, created
// whole (written aside, then hard-linked into place, which fails if it
// exists) so that exactly one process gets it and no other process ever
// reads it empty. A lock whose holder is dead is taken over; the takeover
// re-checks what it moved aside, so two processes that both saw the same
// stale lock cannot both end up holding a fresh one.
import path from 'node:path';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** A process the holder started to finish its work (foldWal's checkpoint): the lock is held while either lives. */
  sharedWith?: number;
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(
      `Another Tango process is already writing this warehouse: pid ${holder.pid} on ${holder.host}, ` +
        `"${holder.command}", started ${holder.startedAt}. Lock file: ${lockPath}`,
    );
  }
}

export interface Lock {
  path: string;
  release(): void;
}

const heldLocks = new Map<Lock, LockHolder>();

/** Releases every lock this process holds (on the way out after a signal). */
export function releaseAllLocks(): void {
  for (const lock of [...heldLocks.keys()]) lock.release();
}

/** The lock files this process holds. */
export function heldLockPaths(): string[] {
  return [...heldLocks.keys()].map((lock) => lock.path);
}

/**
 * Makes every lock this process holds stay held while `pid` lives too, should
 * this process die first: the lock file is rewritten aside and renamed over
 * itself, so that no reader ever sees it half written.
 */
export function shareHeldLocksWith(pid: number): void {
  for (const [lock, holder] of heldLocks) {
    const shared: LockHolder = { ...holder, sharedWith: pid };
    const written = `${lock.path}.${process.pid}.new`;
    writeFileSync(written, JSON.stringify(shared));
    renameSync(written, lock.path);
    heldLocks.set(lock, shared);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a lock file says: its holder, or undefined when there is no lock file. */
export function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number') return undefined;
    return {
      pid: parsed.pid,
      host: String(parsed.host ?? 'unknown'),
      command: String(parsed.command ?? 'unknown'),
      startedAt: String(parsed.startedAt ?? 'unknown'),
      ...(typeof parsed.sharedWith === 'number' ? { sharedWith: parsed.sharedWith } : {}),
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A lock file cut short by a crash (only where it is created in place,
    // see tryCreate): stale.
    return { pid: -1, host: hostname(), command: 'unknown', startedAt: 'unknown' };
  }
}

/**
 * Whether the holder itself is gone and only the process it started to
 * finish its work still holds the lock: that ends by itself, soon.
 */
export function isFinishing(holder: LockHolder): boolean {
  return holder.host === hostname() && !isAlive(holder.pid) && holder.sharedWith !== undefined && isAlive(holder.sharedWith);
}

function isStale(holder: LockHolder): boolean {
  // A holder on another host cannot be checked from here; it is never taken over.
  return holder.host === hostname() && (holder.pid <= 0 || !isAlive(holder.pid)) && (holder.sharedWith === undefined || !isAlive(holder.sharedWith));
}

/**
 * Creates the lock file holding `holder`, unless it exists. Created in place
 * with O_EXCL and then written, a lock is empty for a moment: another
 * process reading it then took it for one cut short by a crash, moved it
 * aside as stale, and took the lock too (two runs at once, one failing on
 * DuckDB's own lock). So it is written aside and linked into place whole;
 * only where the file system has no hard links is it created in place.
 */
function tryCreate(lockPath: string, holder: LockHolder): boolean {
  const cannotCreate = (error: unknown) => new Error(`Cannot create lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
  const written = `${lockPath}.${process.pid}.new`;
  try {
    mkdirSync(path.dirname(lockPath), { recursive: true });
    writeFileSync(written, JSON.stringify(holder));
  } catch (error) {
    throw cannotCreate(error);
  }
  try {
    linkSync(written, lockPath);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw cannotCreate(error);
  } finally {
    rmSync(written, { force: true });
  }
  return tryCreateInPlace(lockPath, holder, cannotCreate);
}

function tryCreateInPlace(lockPath: string, holder: LockHolder, cannotCreate: (error: unknown) => Error): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw cannotCreate(error);
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock at `lockPath` or throws LockHeldError naming the live holder.
 * `onStale` is told when a dead holder's lock is taken over.
 */
export function acquireLock(lockPath: string, command: string, onStale?: (stale: LockHolder) => void): Lock {
  const me: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(lockPath, me)) {
      const lock: Lock = {
        path: lockPath,
        release() {
          if (!heldLocks.delete(lock)) return;
          const current = readHolder(lockPath);
          // A checkpoint process this one started and left running (stopped by a signal) keeps it.
          if (current?.sharedWith !== undefined && isAlive(current.sharedWith)) return;
          if (current && current.pid === me.pid && current.startedAt === me.startedAt) unlinkSync(lockPath);
        },
      };
      heldLocks.set(lock, me);
      return lock;
    }
    const holder = readHolder(lockPath);
    if (!holder) continue; // released between our create and read: try again
    if (!isStale(holder)) throw new LockHeldError(lockPath, holder);

    const asideName = `${lockPath}.stale-${process.pid}-${Date.now()}`;
    try {
      renameSync(lockPath, asideName);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it
      throw error;
    }
    const moved = readHolder(asideName);
    if (moved && !isStale(moved)) {
      // We moved a lock that a live process took in the meantime: put it back.
      try {
        linkSync(asideName, lockPath);
      } finally {
        unlinkSync(asideName);
      }
      throw new LockHeldError(lockPath, moved);
    }
    unlinkSync(asideName);
    onStale?.(holder);
  }
  const holder = readHolder(lockPath);
  throw holder ? new LockHeldError(lockPath, holder) : new Error(`Could not take the lock ${lockPath}`);
}
