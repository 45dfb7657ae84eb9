// Preloaded into the tango process by test/faults/crashes.test.ts
// (LD_PRELOAD): the Nth whole-block write (262144 bytes, DuckDB's block
// size) to the file named by TEAR_FILE is cut after its first half, and the
// process killed, as a SIGKILL that lands inside the write system call can
// do (Linux stops copying a write at a page boundary once a fatal signal is
// pending). TEAR_AT=0 only counts: each such write is logged to TEAR_LOG.
// The checkpoint process (pipelines/checkpoint-process.mjs) is left alone.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define BLOCK 262144

static atomic_long blocks_written = 0;

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
  char link[64], file[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t length = readlink(link, file, sizeof file - 1);
  if (!target || length <= 0) return 0;
  file[length] = 0;
  return strcmp(file, target) == 0;
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void *, size_t, off_t) = NULL;
  if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (count == BLOCK && !is_checkpoint_process() && is_target(fd)) {
    long number = atomic_fetch_add(&blocks_written, 1) + 1;
    FILE *log = fopen(getenv("TEAR_LOG"), "a");
    if (log) {
      fprintf(log, "%ld %lld\n", number, (long long)offset);
      fclose(log);
    }
    if (number == atol(getenv("TEAR_AT") ? getenv("TEAR_AT") : "0")) {
      real(fd, buffer, BLOCK / 2, offset);
      kill(getpid(), SIGKILL);
      pause();
    }
  }
  return real(fd, buffer, count, offset);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) { return pwrite64(fd, buffer, count, offset); }
