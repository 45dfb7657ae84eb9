// Preloaded into tango by test/faults/crashes.test.ts (LD_PRELOAD, so also
// into the dbt it starts): the Nth whole-block write (262144 bytes, DuckDB's
// block size) to the file TEAR_FILE names (by inode, so that the transform's
// work file, a hard link of the warehouse, counts too) is cut after its
// first half, and the writing process killed, as a SIGKILL that lands inside
// the write system call can do (Linux stops copying a write at a page
// boundary once a fatal signal is pending). Writes are counted across every
// process of the run, in TEAR_LOG: one fixed-width line per write, appended
// under a lock, so the line count is the number. TEAR_AT=0 only counts.
// The checkpoint process (pipelines/checkpoint-process.mjs) is left alone.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BLOCK 262144

static int is_checkpoint_process(void) {
  static int known = -1;
  if (known < 0) {
    char command[8192] = {0};
    FILE *file = fopen("/proc/self/cmdline", "r");
    size_t length = file ? fread(command, 1, sizeof command - 1, file) : 0;
    if (file) fclose(file);
    for (size_t i = 0; i < length; i++)
      if (!command[i]) command[i] = ' ';
    known = strstr(command, "checkpoint-process") != NULL;
  }
  return known;
}

static int is_target(int fd) {
  const char *target = getenv("TEAR_FILE");
  struct stat wanted, written;
  if (!target || stat(target, &wanted) != 0 || fstat(fd, &written) != 0) return 0;
  return wanted.st_dev == written.st_dev && wanted.st_ino == written.st_ino;
}

#define LOG_LINE 42

/** Logs a block write (its offset and pid) and returns its number among all the run's processes' block writes. */
static long count_block_write(off_t offset) {
  int log = open(getenv("TEAR_LOG"), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log < 0) return 0;
  flock(log, LOCK_EX);
  struct stat status;
  long number = fstat(log, &status) == 0 ? status.st_size / LOG_LINE + 1 : 0;
  char line[LOG_LINE + 1];
  snprintf(line, sizeof line, "%-20ld %-20lld", (long)getpid(), (long long)offset);
  line[LOG_LINE - 1] = '\n';
  write(log, line, LOG_LINE);
  flock(log, LOCK_UN);
  close(log);
  return number;
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void *, size_t, off_t) = NULL;
  if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (count == BLOCK && !is_checkpoint_process() && is_target(fd)) {
    long number = count_block_write(offset);
    if (number == atol(getenv("TEAR_AT") ? getenv("TEAR_AT") : "0")) {
      real(fd, buffer, BLOCK / 2, offset);
      kill(getpid(), SIGKILL);
      pause();
    }
  }
  return real(fd, buffer, count, offset);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) { return pwrite64(fd, buffer, count, offset); }
