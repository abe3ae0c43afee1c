/*
 * A small test harness for the C tests. Each test file is one program:
 *
 *   TEST(name) { ... CHECK(cond, "printf-style context", ...); ... }
 *   int main(void) { RUN(name); ...; return summary(); }
 *
 * Each test runs in a forked process of its own (its fds, cwd, signal state and threads
 * cannot leak into the next) with a time limit, and prints "ok", "not ok" or "ok ... # SKIP
 * reason" TAP-style; the last line is "N passed, M failed, K skipped", which the Rust runner
 * (tests/common/c.rs) reads: it fails on a skip unless SPROUT_TESTS_ALLOW_SKIP=1.
 * SPROUT_TEST_FILTER=TEXT runs only the tests whose name contains TEXT;
 * SPROUT_TEST_EXCLUDE=NAME,NAME,... runs all but those (neither is counted).
 * SPROUT_TEST_TIME_SCALE=N (at least 1; the sanitizer runs set it) multiplies every time limit
 * given with test_seconds(): the limits only catch hangs, and no test asserts on speed.
 * The probe program is at $SPROUT_PROBE (see probe.c).
 */
#ifndef SPROUT_TEST_HARNESS_H
#define SPROUT_TEST_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sprout.h"

#define TEST_TIMEOUT_SECONDS 60
/* Exit status of a test process that skipped. */
#define SKIP_STATUS 77

/* Seconds on the monotonic clock. */
static inline double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `seconds` times SPROUT_TEST_TIME_SCALE: a time limit that holds on a loaded machine and in a
 * sanitizer build of the caller, several times slower (the runs in tests/c_variants.rs set it). */
static inline unsigned test_seconds(unsigned seconds) {
  const char *text = getenv("SPROUT_TEST_TIME_SCALE");
  long scale = text ? strtol(text, NULL, 10) : 1;
  return seconds * (unsigned)(scale > 1 && scale < 100 ? scale : 1);
}

/* Counted in the parent, one process per test. */
static int tests_passed, tests_failed, tests_skipped;
/* In a test process: the write end of a pipe to the parent, for the reason of a skip. */
static int skip_reason_fd = -1;

static inline void fail_at(const char *file, int line, const char *cond, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  %s:%d: CHECK(%s) failed: ", file, line, cond);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  fflush(stderr);
  _exit(1);
}

/* Fails the test (and ends its process) unless cond holds. */
#define CHECK(cond, ...)                                        \
  do {                                                          \
    if (!(cond)) fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__); \
  } while (0)

/* Checks that a sprout call returned 0, printing its sprout_error otherwise. */
#define CHECK_OK(call, err)                                                             \
  do {                                                                                  \
    int check_ok_rc_ = (call);                                                          \
    CHECK(check_ok_rc_ == 0, "%s returned %d (%s)", #call, check_ok_rc_, (err)->message); \
  } while (0)

/* Ends the test as skipped, saying why (on its TAP line). A skip fails the run under cargo
 * test unless SPROUT_TESTS_ALLOW_SKIP=1: use it only for what this host cannot do. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static inline void SKIP(const char *fmt, ...) {
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  for (char *c = reason; *c; c++)
    if (*c == '\n') *c = ' ';
  fflush(stdout);
  if (skip_reason_fd >= 0) {
    ssize_t unused = write(skip_reason_fd, reason, strlen(reason));
    (void)unused;
  }
  _exit(SKIP_STATUS);
}

/* Flags shared between threads and signal handlers: atomic, so that ThreadSanitizer builds of
 * the tests see them synchronised (a plain volatile is a data race to it). */
#define FLAG_SET(flag, value) __atomic_store_n(&(flag), (value), __ATOMIC_SEQ_CST)
#define FLAG_GET(flag) __atomic_load_n(&(flag), __ATOMIC_SEQ_CST)

#define TEST(name) static void name(void)
#define RUN(name) run_test(#name, name)

static inline void run_test(const char *name, void (*body)(void)) {
  const char *filter = getenv("SPROUT_TEST_FILTER");
  if (filter && *filter && !strstr(name, filter)) return;
  const char *exclude = getenv("SPROUT_TEST_EXCLUDE");
  size_t len = strlen(name);
  for (const char *at = exclude; at && (at = strstr(at, name)) != NULL; at += len)
    if ((at == exclude || at[-1] == ',') && (at[len] == ',' || at[len] == 0)) return;
  fflush(stdout);
  fflush(stderr);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int reason_pipe[2];
  if (pipe2(reason_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    perror("pipe2");
    exit(2);
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(reason_pipe[0]);
    skip_reason_fd = reason_pipe[1];
    setsid();
    alarm(test_seconds(TEST_TIMEOUT_SECONDS));
    body();
    fflush(stdout);
    _exit(0);
  }
  /* The test leads a session, so a process group, of its own and has no controlling terminal:
   * whatever it started and left running, say a probe in "pause" after a failed CHECK, is
   * killed when it ends, instead of holding our stdout open for ever; as a subreaper, this
   * process inherits and reaps them. */
  close(reason_pipe[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (kill(-pid, SIGKILL) == 0)
    while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR) {
    }
  char reason[256] = "";
  ssize_t got = read(reason_pipe[0], reason, sizeof reason - 1);
  reason[got > 0 ? got : 0] = 0;
  close(reason_pipe[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    tests_passed++;
    printf("ok - %s\n", name);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS) {
    tests_skipped++;
    printf("ok - %s # SKIP %s\n", name, reason);
  } else {
    tests_failed++;
    if (WIFSIGNALED(status))
      printf("not ok - %s (killed by signal %d%s)\n", name, WTERMSIG(status),
             WTERMSIG(status) == SIGALRM ? ": timed out" : "");
    else
      printf("not ok - %s\n", name);
  }
  fflush(stdout);
}

/* The closing line: "N passed, M failed, K skipped". */
static inline int summary(void) {
  printf("%d passed, %d failed, %d skipped\n", tests_passed, tests_failed, tests_skipped);
  fflush(stdout);
  return tests_failed ? 1 : 0;
}

/* Skips the test unless running as root. */
static inline void need_root(void) {
  if (geteuid() != 0) SKIP("needs root");
}

static inline const char *probe_path(void) {
  const char *path = getenv("SPROUT_PROBE");
  CHECK(path != NULL, "SPROUT_PROBE is not set: run the C tests through cargo test");
  return path;
}

/* A thread body that spawns the probe as uid/gid 65534 over and over until the int `stop`
 * points to is set (FLAG_SET): each child's id change takes the dumpable bookkeeping's and the
 * table's locks, and clears the dumpable flag of the memory it shares with the caller until
 * the spawn puts it back. */
static inline void *spawn_as_nobody_until(void *stop) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_credentials nobody = {65534, 65534, NULL, 0};
  while (!FLAG_GET(*(int *)stop)) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.argv = argv;
    a.credentials = &nobody;
    sprout_exec(&a, NULL, 0, NULL, NULL);
  }
  return NULL;
}

/* Reads fd to EOF into a NUL-terminated malloc'd buffer. */
static inline char *read_all(int fd) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  CHECK(buf != NULL, "malloc");
  for (;;) {
    if (len + 1 >= cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      CHECK(buf != NULL, "realloc");
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = 0;
  return buf;
}

/* The whole of a file, NUL-terminated and malloc'd, or NULL when it cannot be opened. */
static inline char *read_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *text = read_all(fd);
  close(fd);
  return text;
}

/* /proc/PID/NAME as text, or NULL. */
static inline char *proc_file(int pid, const char *name) {
  char path[128];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  return read_file(path);
}

/*
 * The value of the first line "KEY=VALUE" of text (for probe reports), or of "KEY:\tVALUE"
 * (for /proc status files), copied into a static buffer without the newline; NULL if absent.
 * With nth > 0, the nth matching line (0-based).
 */
static inline const char *field_nth(const char *text, const char *key, int nth) {
  static char value[4096];
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > klen && !strncmp(line, key, klen) && (line[klen] == '=' || line[klen] == ':')) {
      if (nth-- == 0) {
        const char *v = line + klen + 1;
        while (*v == '\t' || (*v == ' ' && line[klen] == ':')) v++;
        size_t vlen = len - (size_t)(v - line);
        if (vlen >= sizeof value) vlen = sizeof value - 1;
        memcpy(value, v, vlen);
        value[vlen] = 0;
        return value;
      }
    }
    line = end ? end + 1 : NULL;
  }
  return NULL;
}

static inline const char *field(const char *text, const char *key) { return field_nth(text, key, 0); }

/* Whether text holds the exact line `line`. */
static inline int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
    if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0)) return 1;
  return 0;
}

/* How many lines of text start with prefix. */
static inline int count_lines(const char *text, const char *prefix) {
  int count = 0;
  size_t n = strlen(prefix);
  for (const char *line = text; line && *line;) {
    if (!strncmp(line, prefix, n)) count++;
    line = strchr(line, '\n');
    if (line) line++;
  }
  return count;
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static inline void mountinfo_unescape(char *text) {
  char *out = text;
  for (const char *in = text; *in; out++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
        in[3] >= '0' && in[3] <= '7') {
      *out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 4;
    } else {
      *out = *in++;
    }
  }
  *out = 0;
}

/*
 * The cgroup2 hierarchy as this process sees it, from /proc/self/mountinfo (wherever the host
 * mounts it: /sys/fs/cgroup on a pure cgroup-v2 host, /sys/fs/cgroup/unified on a hybrid one):
 * its mount point, and the cgroup its mount's root is, as /proc/PID/cgroup names cgroups ("/"
 * unless a bind mount of a sub-cgroup). Returns 0 when no cgroup2 is mounted.
 */
static inline int cgroup2_mount(char *mount_point, size_t mount_point_size, char *root,
                                size_t root_size) {
  char *info = read_file("/proc/self/mountinfo");
  if (!info) return 0;
  int found = 0;
  for (char *line = info, *next; line && *line && !found; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    /* ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS */
    char *fields[64], *save = NULL;
    int n = 0;
    for (char *f = strtok_r(line, " ", &save); f && n < 64; f = strtok_r(NULL, " ", &save))
      fields[n++] = f;
    int dash = 6; /* the optional fields end with "-" */
    while (dash < n && strcmp(fields[dash], "-")) dash++;
    if (dash + 1 >= n || strcmp(fields[dash + 1], "cgroup2")) continue;
    mountinfo_unescape(fields[3]);
    mountinfo_unescape(fields[4]);
    snprintf(root, root_size, "%s", fields[3]);
    snprintf(mount_point, mount_point_size, "%s", fields[4]);
    found = 1;
  }
  free(info);
  return found;
}

/* A probe started with a pipe on its stdin (to hold it in "wait") and one on its stdout. */
typedef struct probe {
  int pid;
  int to_stdin;     /* write end of the probe's stdin; closing it releases "wait" */
  int from_stdout;  /* read end of the probe's stdout */
} probe;

/* Starts the probe with args (NULL-terminated probe commands) and exactly fds[0..fds_len) under
 * a (its argv is replaced for the call). Returns sprout_exec_async's result; *pid on success. */
static inline int spawn_probe(sprout_exec_args *a, const char *const *args, const int32_t *fds,
                              size_t fds_len, int *pid, sprout_error *err) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = probe_path();
  for (; args && *args && n < 63; args++) argv[n++] = *args;
  argv[n] = NULL;
  a->argv = argv;
  sprout_process proc = {-1, NULL};
  int rc = sprout_exec_async(a, fds, fds_len, &proc, err);
  a->argv = NULL;
  if (rc == 0) *pid = proc.pid;
  return rc;
}

/*
 * Starts the probe with `args` (probe commands, NULL-terminated) under `a` (argv is replaced;
 * everything else is the caller's). The probe's fds are: 0 = a pipe from us, 1 = a pipe to us,
 * 2 = our stderr, then extra[0..extra_len) as fds 3, 4, ... Returns sprout_exec_async's result.
 */
static inline int start_probe_fds(sprout_exec_args *a, const char *const *args, const int32_t *extra,
                                  size_t extra_len, probe *p, sprout_error *err) {
  int in[2], out[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  int32_t fds[64] = {in[0], out[1], 2};
  for (size_t i = 0; i < extra_len && i < 61; i++) fds[3 + i] = extra[i];
  int pid = -1;
  int rc = spawn_probe(a, args, fds, 3 + extra_len, &pid, err);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return rc;
  }
  p->pid = pid;
  p->to_stdin = in[1];
  p->from_stdout = out[0];
  return 0;
}

static inline int start_probe(sprout_exec_args *a, const char *const *args, probe *p, sprout_error *err) {
  return start_probe_fds(a, args, NULL, 0, p, err);
}

/* Reads fd up to and including a line "end" (the probe's report), however long. */
static inline char *read_until_end(int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  CHECK(buf != NULL, "malloc");
  buf[0] = 0;
  for (;;) {
    if (len + 1 >= cap) {
      buf = realloc(buf, cap *= 2);
      CHECK(buf != NULL, "realloc");
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = 0;
    if (len >= 4 && !strcmp(buf + len - 4, "end\n")) break;
  }
  return buf;
}

/* Reads the probe's output up to and including the "end" line of its report. */
static inline char *read_report(probe *p) { return read_until_end(p->from_stdout); }

/* Releases a probe in "wait", waits for it through sprout and returns its wait status. */
static inline int finish_probe(probe *p) {
  close(p->to_stdin);
  close(p->from_stdout);
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_wait(p->pid, 10000, &status, &err), &err);
  return status;
}

/* Runs the probe to completion with `args`, returning its whole stdout (malloc'd). */
static inline char *run_probe(sprout_exec_args *a, const char *const *args) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, args, &p, &err), &err);
  close(p.to_stdin);
  char *out = read_all(p.from_stdout);
  close(p.from_stdout);
  int status;
  CHECK_OK(sprout_wait(p.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe ended with status %#x:\n%s", status, out);
  return out;
}

#endif
