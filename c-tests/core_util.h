/*
 * Helpers for the core tests (test_core*.c): the probe started with an exact fd array, what
 * the kernel shows about a process from outside (/proc/PID/fd, status, cwd, cmdline,
 * environ), error checks, and a temporary directory per test program.
 */
#ifndef SPROUT_CORE_UTIL_H
#define SPROUT_CORE_UTIL_H

#include "harness.h"

#include <dirent.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Checks that a call failed with -errno_ and that err says so, in stage_. */
#define CHECK_FAILS(call, err, errno_, stage_)                                                    \
  do {                                                                                            \
    int check_fails_rc_ = (call);                                                                 \
    CHECK(check_fails_rc_ == -(errno_), "%s returned %d, not -%s (%s)", #call, check_fails_rc_,   \
          #errno_, (err)->message);                                                               \
    CHECK((err)->code == (errno_), "err.code %d, not %s", (err)->code, #errno_);                  \
    CHECK((err)->stage == (uint32_t)(stage_), "err.stage %s, not %s (%s)",                        \
          sprout_stage_name((err)->stage), #stage_, (err)->message);                              \
  } while (0)

/* Checks that err's message contains text. */
#define CHECK_MESSAGE_HAS(err, text) \
  CHECK(strstr((err)->message, (text)) != NULL, "message \"%s\" lacks \"%s\"", (err)->message, (text))

/* Ends a process sprout started and returns its wait status. */
static inline int kill_probe(int pid) {
  sprout_error err;
  int status = -1;
  CHECK(sprout_signal(pid, SIGKILL) == 0, "sprout_signal(%d, SIGKILL)", pid);
  CHECK_OK(sprout_wait(pid, 10000, &status, &err), &err);
  return status;
}

/* The fds /proc/PID/fd lists, ascending, into out[0..max); returns how many (-1: no such dir). */
static inline int proc_fds(int pid, int *out, int max) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR *dir = opendir(path);
  if (!dir) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(dir)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (pid == getpid() && fd == dirfd(dir)) continue;
    if (n < max) {
      int i = n++;
      while (i > 0 && out[i - 1] > fd) {
        out[i] = out[i - 1];
        i--;
      }
      out[i] = fd;
    }
  }
  closedir(dir);
  return n;
}

/* "0 1 2" for the fds of pid, in a static buffer (for messages and exact comparisons). */
static inline const char *proc_fd_list(int pid) {
  static char text[4096];
  int fds[512];
  int n = proc_fds(pid, fds, 512);
  text[0] = 0;
  if (n < 0) return "(no /proc entry)";
  size_t len = 0;
  for (int i = 0; i < n && len + 16 < sizeof text; i++)
    len += (size_t)snprintf(text + len, sizeof text - len, "%s%d", i ? " " : "", fds[i]);
  return text;
}

/* What the link /proc/PID/NAME points to ("" when it cannot be read), in buf. */
static inline const char *proc_link_into(int pid, const char *name, char *buf, size_t size) {
  char path[128];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  ssize_t n = readlink(path, buf, size - 1);
  buf[n < 0 ? 0 : n] = 0;
  return buf;
}

/* What /proc/PID/NAME ("cwd", "exe") points to, in a static buffer. */
static inline const char *proc_link(int pid, const char *name) {
  static char target[PATH_MAX];
  return proc_link_into(pid, name, target, sizeof target);
}

/* What /proc/PID/fd/FD points to ("" when not open), in buf. */
static inline const char *proc_fd_target(int pid, int fd, char *buf, size_t size) {
  char name[32];
  snprintf(name, sizeof name, "fd/%d", fd);
  return proc_link_into(pid, name, buf, size);
}

/* A /proc/PID/status field ("SigBlk", "Umask", ...), in a static buffer; "" when missing. */
static inline const char *status_of(int pid, const char *key) {
  static char value[256];
  char *text = proc_file(pid, "status");
  CHECK(text != NULL, "no /proc/%d/status", pid);
  const char *v = field(text, key);
  snprintf(value, sizeof value, "%s", v ? v : "");
  free(text);
  return value;
}

/* The whole of /proc/PID/NAME (binary: cmdline, environ); its length in *len. */
static inline char *proc_bytes(int pid, const char *name, size_t *len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n == cap) buf = realloc(buf, cap *= 2);
    CHECK(buf != NULL, "realloc");
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    CHECK(got >= 0, "read %s: %s", path, strerror(errno));
    if (got == 0) break;
    n += (size_t)got;
  }
  close(fd);
  *len = n;
  return buf;
}

/* Checks that /proc/PID/NAME holds exactly the strings, each NUL-terminated. */
static inline void check_proc_strings(int pid, const char *name, const char *const *strings) {
  size_t len;
  char *got = proc_bytes(pid, name, &len);
  size_t off = 0;
  int i = 0;
  for (; strings[i]; i++) {
    size_t n = strlen(strings[i]) + 1;
    CHECK(off + n <= len && !memcmp(got + off, strings[i], n),
          "/proc/%d/%s (%zu bytes): entry %d is \"%.60s\", not \"%.60s\"", pid, name, len, i,
          off < len ? got + off : "", strings[i]);
    off += n;
  }
  CHECK(off == len, "/proc/%d/%s has %zu bytes after the %d expected entries", pid, name, len - off, i);
  free(got);
}

/*
 * Reads the line the probe's "say TEXT" prints and checks it. sprout_exec_async returns when the
 * kernel lets the vfork parent go, which is in the middle of execve: close-on-exec fds are not
 * closed yet and /proc/PID/cmdline and environ are still empty. Once the probe prints, its exec
 * is complete and /proc shows its final state.
 */
static inline void await_say(int fd, const char *text) {
  char line[256];
  size_t len = 0;
  while (len + 1 < sizeof line) {
    ssize_t n = read(fd, line + len, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || line[len] == '\n') break;
    len++;
  }
  line[len] = 0;
  CHECK(!strcmp(line, text), "the probe said \"%s\", not \"%s\"", line, text);
}

/* How many fds this process has open. */
static inline int own_fd_count(void) {
  int fds[4096];
  return proc_fds(getpid(), fds, 4096);
}

/* One temporary directory per test program, made by main before the tests and removed after
 * them, so a failing test (which ends its process at once) leaves nothing behind. */
static char temp_root[PATH_MAX];

static inline void temp_root_create(const char *program) {
  snprintf(temp_root, sizeof temp_root, "/tmp/sprout-%s-XXXXXX", program);
  CHECK(mkdtemp(temp_root) != NULL, "mkdtemp: %s", strerror(errno));
  /* Compare with what the kernel reports: no symlink in the path. */
  char real[PATH_MAX];
  CHECK(realpath(temp_root, real) != NULL, "realpath: %s", strerror(errno));
  snprintf(temp_root, sizeof temp_root, "%s", real);
}

static inline int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

static inline void temp_root_remove(void) {
  if (temp_root[0]) nftw(temp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* temp_root/name, malloc'd. */
static inline char *temp_path(const char *name) {
  size_t n = strlen(temp_root) + strlen(name) + 2;
  char *path = malloc(n);
  CHECK(path != NULL, "malloc");
  snprintf(path, n, "%s/%s", temp_root, name);
  return path;
}

/* A new directory temp_root/name, its path malloc'd. */
static inline char *temp_dir(const char *name) {
  char *path = temp_path(name);
  CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
  return path;
}

static inline void write_file(const char *path, const void *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
  CHECK(write(fd, data, len) == (ssize_t)len, "write %s: %s", path, strerror(errno));
  CHECK(fchmod(fd, mode) == 0, "chmod %s", path);
  close(fd);
}

/* Copies the probe to path (mode 0755). */
static inline void copy_probe(const char *path) {
  int fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open probe: %s", strerror(errno));
  struct stat st;
  CHECK(fstat(fd, &st) == 0, "fstat probe");
  char *data = malloc((size_t)st.st_size);
  CHECK(data != NULL, "malloc");
  CHECK(read(fd, data, (size_t)st.st_size) == st.st_size, "read probe");
  close(fd);
  write_file(path, data, (size_t)st.st_size, 0755);
  free(data);
}

/* A seccomp filter for this process: clone3 fails with errno_, as under older container
 * profiles (EPERM) or on kernels before 5.3 (ENOSYS). */
static inline void refuse_clone3(int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
  CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == errno_, "the filter does not refuse clone3");
}

/* The first version of the kernel's struct pidfd_info (linux/pidfd.h, 64 bytes), which the
 * system headers here may predate. */
struct pidfd_info_v0 {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
#define TEST_PIDFD_INFO_EXIT (1ULL << 3)
#define TEST_PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidfd_info_v0)

/* Whether this kernel keeps the exit status of a reaped process for its pidfds (PIDFD_GET_INFO
 * with PIDFD_INFO_EXIT, Linux 6.15), asked about a child of our own. A kernel without
 * pidfd_open (ENOSYS: before 5.3, or c-tests/old_kernel.c) keeps none. */
static inline int kernel_keeps_exit_status(void) {
  pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) _exit(3);
  int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  CHECK(pidfd >= 0 || errno == ENOSYS, "pidfd_open: %s", strerror(errno));
  int status;
  CHECK(waitpid(child, &status, 0) == child, "waitpid");
  if (pidfd < 0) return 0;
  struct pidfd_info_v0 info = {.mask = TEST_PIDFD_INFO_EXIT};
  int kept = ioctl(pidfd, TEST_PIDFD_GET_INFO, &info) == 0 && (info.mask & TEST_PIDFD_INFO_EXIT) &&
             info.exit_code == status;
  close(pidfd);
  return kept;
}

#endif
