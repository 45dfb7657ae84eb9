import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { acquireLock, heldLockPaths, isFinishing, LockHeldError, shareHeldLocksWith } from '../../pipelines/lock.ts';
import { exitedPid, tempDir } from '../helpers.ts';

describe('warehouse lock', () => {
  it('refuses a second holder and names the first', () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    const first = acquireLock(lockPath, 'tango run');
    try {
      expect(() => acquireLock(lockPath, 'tango extract')).toThrow(LockHeldError);
      expect(() => acquireLock(lockPath, 'tango extract')).toThrow(new RegExp(`pid ${process.pid} on .*"tango run"`));
    } finally {
      first.release();
    }
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over a lock whose holder is dead', () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    const deadPid = exitedPid();
    writeFileSync(lockPath, JSON.stringify({ pid: deadPid, host: hostname(), command: 'tango run', startedAt: '2026-01-01T00:00:00Z' }));
    const stale: number[] = [];
    const lock = acquireLock(lockPath, 'tango run', (holder) => stale.push(holder.pid));
    expect(stale).toEqual([deadPid]);
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('treats a lock file cut short by a crash as stale', () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    writeFileSync(lockPath, '{"pid": 12');
    const lock = acquireLock(lockPath, 'tango run');
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('is held while the checkpoint process it was shared with lives, though its holder is dead; then taken over', async () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    const deadPid = exitedPid();
    const checkpointer = spawn('sleep', ['30']);
    try {
      writeFileSync(lockPath, JSON.stringify({ pid: deadPid, host: hostname(), command: 'tango run', startedAt: 'x', sharedWith: checkpointer.pid }));
      let refused: unknown;
      try {
        acquireLock(lockPath, 'tango run');
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(LockHeldError);
      expect(isFinishing((refused as LockHeldError).holder)).toBe(true);
    } finally {
      checkpointer.kill('SIGKILL');
      await new Promise((resolve) => checkpointer.on('exit', resolve));
    }
    const lock = acquireLock(lockPath, 'tango run');
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('shares the locks it holds with another process, and keeps the file at release while that process lives', async () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    const lock = acquireLock(lockPath, 'tango run');
    const checkpointer = spawn('sleep', ['30']);
    try {
      expect(heldLockPaths()).toContain(lockPath);
      shareHeldLocksWith(checkpointer.pid!);
      expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, sharedWith: checkpointer.pid });
      lock.release();
      expect(existsSync(lockPath)).toBe(true);
    } finally {
      checkpointer.kill('SIGKILL');
      await new Promise((resolve) => checkpointer.on('exit', resolve));
    }
  });

  it('never takes over a live holder on another host', () => {
    const lockPath = path.join(tempDir(), 'w.duckdb.lock');
    writeFileSync(lockPath, JSON.stringify({ pid: 1, host: 'elsewhere', command: 'tango run', startedAt: 'x' }));
    expect(() => acquireLock(lockPath, 'tango run')).toThrow(/pid 1 on elsewhere/);
  });
});
