// One writer per warehouse: a lock file beside the DuckDB file, created with
// O_EXCL so that exactly one process gets it. A lock whose holder is dead is
// taken over; the takeover re-checks what it moved aside, so two processes
// that both saw the same stale lock cannot both end up holding a fresh one.
import path from 'node:path';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
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

const heldLocks = new Set<Lock>();

/** Releases every lock this process holds (on the way out after a signal). */
export function releaseAllLocks(): void {
  for (const lock of [...heldLocks]) lock.release();
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

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number') return undefined;
    return {
      pid: parsed.pid,
      host: String(parsed.host ?? 'unknown'),
      command: String(parsed.command ?? 'unknown'),
      startedAt: String(parsed.startedAt ?? 'unknown'),
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A lock file cut short by a crash between create and write: stale. (One
    // caught mid-write by a live process is put back by the takeover's re-check.)
    return { pid: -1, host: hostname(), command: 'unknown', startedAt: 'unknown' };
  }
}

function isStale(holder: LockHolder): boolean {
  // A holder on another host cannot be checked from here; it is never taken over.
  return holder.host === hostname() && (holder.pid <= 0 || !isAlive(holder.pid));
}

function tryCreate(lockPath: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    mkdirSync(path.dirname(lockPath), { recursive: true });
    fd = openSync(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`Cannot create lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
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
          heldLocks.delete(lock);
          const current = readHolder(lockPath);
          if (current && current.pid === me.pid && current.startedAt === me.startedAt) unlinkSync(lockPath);
        },
      };
      heldLocks.add(lock);
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
