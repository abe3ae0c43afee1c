/* The fd array: any permutation lands where asked (checked in /proc/PID/fd from outside), -1
 * leaves a slot closed, nothing else reaches the process (not the caller's inheritable fds, not
 * fds other threads open meanwhile, not with close_range refused), and the caller's fds and
 * their flags stay as they were. */
#include "core_util.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

/* Creates temp file `name` and opens it at exactly fd `at`; returns its path. */
static char *file_at(const char *name, int at, int cloexec) {
  char *path = temp_path(name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  if (fd != at) {
    CHECK(dup3(fd, at, cloexec ? O_CLOEXEC : 0) == at, "dup3 to %d: %s", at, strerror(errno));
    close(fd);
  } else if (!cloexec) {
    CHECK(fcntl(at, F_SETFD, 0) == 0, "F_SETFD");
  }
  return path;
}

/* Checks that fd `fd` of process pid is the file at path, as /proc/PID/fd shows it. */
#define CHECK_TARGET(pid, fd, path)                                                            \
  do {                                                                                         \
    char target_[PATH_MAX];                                                                    \
    proc_fd_target((pid), (fd), target_, sizeof target_);                                      \
    CHECK(!strcmp(target_, (path)), "fd %d of the process -> \"%s\", not %s", (fd), target_,   \
          (path));                                                                             \
  } while (0)

/* Checks the probe's own report line for fd `fd`: "fd=N inherit -> path". */
#define CHECK_REPORTED(report, fd, path)                                                       \
  do {                                                                                         \
    char line_[PATH_MAX + 64];                                                                 \
    snprintf(line_, sizeof line_, "fd=%d inherit -> %s", (fd), (path));                        \
    CHECK(has_line((report), line_), "no line \"%s\" in the report:\n%s", line_, (report));   \
  } while (0)

/* The probe's stdout: a pipe whose write end is the caller's out_w, read end out_r. */
static int out_r, out_w;

static void make_out_pipe(void) {
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2");
  out_r = out[0];
  out_w = out[1];
}

/* Starts the probe "report pause" with fds and returns its report (it has run, so its exec is
 * complete and /proc shows its final fd table). */
static char *start_reporting(const int32_t *fds, size_t len, int *pid) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "pause", NULL};
  sprout_error err;
  CHECK_OK(spawn_probe(&a, args, fds, len, pid, &err), &err);
  close(out_w);
  char *report = read_until_end(out_r);
  close(out_r);
  return report;
}

TEST(child_3_and_4_swap_the_callers_3_and_4) {
  char *a_path = file_at("a", 3, 1);
  char *b_path = file_at("b", 4, 1);
  make_out_pipe();
  int32_t fds[] = {0, out_w, 2, 4, 3};
  int pid;
  char *report = start_reporting(fds, 5, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2 3 4"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 3, b_path);
  CHECK_TARGET(pid, 4, a_path);
  CHECK_REPORTED(report, 3, b_path);
  CHECK_REPORTED(report, 4, a_path);
  kill_probe(pid);
  CHECK_TARGET(getpid(), 3, a_path);
  CHECK_TARGET(getpid(), 4, b_path);
}

TEST(a_cycle_of_three_and_a_duplicate_and_stdio_as_a_source) {
  char *a_path = file_at("a", 3, 1);
  char *b_path = file_at("b", 4, 0);
  char *c_path = file_at("c", 5, 1);
  make_out_pipe();
  char err_path[PATH_MAX];
  proc_fd_target(getpid(), 2, err_path, sizeof err_path);
  /* 3 <- 4 <- 5 <- 3, and two slots from one fd, and the caller's stderr at 8. */
  int32_t fds[] = {0, out_w, 2, 4, 5, 3, 5, -1, 2};
  int pid;
  char *report = start_reporting(fds, 9, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2 3 4 5 6 8"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 3, b_path);
  CHECK_TARGET(pid, 4, c_path);
  CHECK_TARGET(pid, 5, a_path);
  CHECK_TARGET(pid, 6, c_path);
  CHECK_TARGET(pid, 8, err_path);
  CHECK_REPORTED(report, 5, a_path);
  CHECK_REPORTED(report, 8, err_path);
  kill_probe(pid);
}

/* Waits until the file at path holds a line "end" (a probe's report written there). */
static char *await_report_in(const char *path) {
  for (int i = 0; i < 10000; i++) {
    char *text = read_file(path);
    if (text && has_line(text, "end")) return text;
    free(text);
    usleep(1000);
  }
  CHECK(0, "no report in %s", path);
  return NULL;
}

TEST(stdio_rotated_among_themselves) {
  /* The caller's 0, 1, 2 become the process's 2, 0, 1: every pass of the layout must keep a
   * source alive until its slot is written. */
  int saved[3];
  for (int i = 0; i < 3; i++) saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 100);
  char *a_path = file_at("a", 0, 0);
  char *b_path = file_at("b", 1, 0);
  char *c_path = file_at("c", 2, 0);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "pause", NULL};
  int32_t fds[] = {1, 2, 0};
  int pid;
  sprout_error err;
  int rc = spawn_probe(&a, args, fds, 3, &pid, &err);
  for (int i = 0; i < 3; i++) dup2(saved[i], i);
  CHECK(rc == 0, "spawn: %s", err.message);
  char *report = await_report_in(c_path); /* the process's stdout is c */
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 0, b_path);
  CHECK_TARGET(pid, 1, c_path);
  CHECK_TARGET(pid, 2, a_path);
  CHECK_REPORTED(report, 0, b_path);
  CHECK_REPORTED(report, 2, a_path);
  kill_probe(pid);
}

TEST(an_fd_at_its_own_slot_is_kept_with_or_without_cloexec) {
  char *a_path = file_at("a", 3, 0);
  char *b_path = file_at("b", 4, 1);
  make_out_pipe();
  int32_t fds[] = {0, out_w, 2, 3, 4};
  int pid;
  char *report = start_reporting(fds, 5, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2 3 4"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 3, a_path);
  CHECK_TARGET(pid, 4, b_path);
  /* "inherit": the program got them without close-on-exec, as every fd it is given. */
  CHECK_REPORTED(report, 3, a_path);
  CHECK_REPORTED(report, 4, b_path);
  kill_probe(pid);
  CHECK(fcntl(3, F_GETFD) == 0, "the caller's fd 3 gained close-on-exec");
  CHECK(fcntl(4, F_GETFD) == FD_CLOEXEC, "the caller's fd 4 lost close-on-exec");
}

TEST(minus_one_leaves_a_slot_closed) {
  char *a_path = file_at("a", 3, 0); /* inheritable, and still not passed */
  char *b_path = file_at("b", 5, 1);
  make_out_pipe();
  int32_t fds[] = {-1, out_w, -1, -1, 5, -1};
  int pid;
  char *report = start_reporting(fds, 6, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "1 4"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 4, b_path);
  CHECK(count_lines(report, "fd=") == 2, "report:\n%s", report);
  kill_probe(pid);
  (void)a_path;
}

TEST(inheritable_caller_fds_do_not_leak) {
  struct rlimit limit;
  CHECK(getrlimit(RLIMIT_NOFILE, &limit) == 0, "getrlimit");
  if (limit.rlim_cur < 2048 && limit.rlim_max >= 2048) {
    limit.rlim_cur = 2048;
    CHECK(setrlimit(RLIMIT_NOFILE, &limit) == 0, "setrlimit");
  }
  int high = limit.rlim_cur >= 2048 ? 2000 : (int)limit.rlim_cur - 1;
  for (int i = 0; i < 20; i++) CHECK(open("/dev/null", O_RDONLY) >= 0, "open");
  CHECK(dup2(0, 100) == 100 && dup2(0, high) == high, "dup2");
  make_out_pipe();
  int32_t fds[] = {0, out_w, 2};
  int pid;
  char *report = start_reporting(fds, 3, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2"), "fds %s", proc_fd_list(pid));
  CHECK(count_lines(report, "fd=") == 3, "report:\n%s", report);
  kill_probe(pid);
}

/* Flags, status flags and identity of each of the caller's fds 0..n. */
struct fd_state {
  int fd_flags, status_flags;
  dev_t dev;
  ino_t ino;
};

static void snapshot(struct fd_state *s, int n) {
  for (int fd = 0; fd < n; fd++) {
    struct stat st;
    memset(&s[fd], 0, sizeof s[fd]);
    s[fd].fd_flags = fcntl(fd, F_GETFD);
    s[fd].status_flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) == 0) {
      s[fd].dev = st.st_dev;
      s[fd].ino = st.st_ino;
    }
  }
}

TEST(the_callers_fds_and_their_flags_are_unchanged) {
  file_at("a", 3, 0);
  file_at("b", 4, 1);
  CHECK(fcntl(3, F_SETFL, O_APPEND | O_NONBLOCK) == 0, "F_SETFL");
  int p[2];
  CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2"); /* inheritable, non-blocking */
  CHECK(dup2(p[0], 5) == 5 && dup2(p[1], 6) == 6, "dup2");
  CHECK(fcntl(6, F_SETFD, FD_CLOEXEC) == 0, "F_SETFD");
  make_out_pipe();
  enum { N = 16 };
  struct fd_state before[N], after[N];
  snapshot(before, N);
  int count = own_fd_count();
  int32_t fds[] = {0, out_w, 2, 4, 3, 5, 6, 6};
  int pid;
  start_reporting(fds, 8, &pid);
  kill_probe(pid); /* the library holds a pidfd while it tracks the process */
  snapshot(after, N);
  for (int fd = 0; fd < N; fd++) {
    if (fd == out_r || fd == out_w) continue; /* closed by start_reporting */
    CHECK(before[fd].fd_flags == after[fd].fd_flags, "fd %d: F_GETFD %#x -> %#x", fd,
          before[fd].fd_flags, after[fd].fd_flags);
    CHECK(before[fd].status_flags == after[fd].status_flags, "fd %d: F_GETFL %#x -> %#x", fd,
          before[fd].status_flags, after[fd].status_flags);
    CHECK(before[fd].dev == after[fd].dev && before[fd].ino == after[fd].ino,
          "fd %d is another file", fd);
  }
  CHECK(own_fd_count() == count - 2, "the caller has %d fds, had %d and closed 2", own_fd_count(),
        count);
}

TEST(a_closed_or_negative_fd_is_ebadf_in_args_naming_index_and_fd) {
  int closed = fcntl(0, F_DUPFD_CLOEXEC, 50);
  CHECK(closed >= 0, "F_DUPFD");
  close(closed);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"exit", "0", NULL};
  int32_t fds[] = {0, 1, 2, -1, closed};
  int pid;
  sprout_error err;
  CHECK_FAILS(spawn_probe(&a, args, fds, 5, &pid, &err), &err, EBADF, SPROUT_STAGE_ARGS);
  char expected[64];
  snprintf(expected, sizeof expected, "fds[4] = %d", closed);
  CHECK_MESSAGE_HAS(&err, expected);
  fds[4] = -7;
  CHECK_FAILS(spawn_probe(&a, args, fds, 5, &pid, &err), &err, EBADF, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "fds[4] = -7");
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a process was started");
}

/* Waits until the kernel has finished exec'ing pid (its cmdline is set last). */
static void await_exec(int pid) {
  for (int i = 0; i < 10000; i++) {
    size_t len;
    free(proc_bytes(pid, "cmdline", &len));
    if (len > 0) return;
    usleep(1000);
  }
  CHECK(0, "process %d never finished exec", pid);
}

TEST(no_fds_at_all) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"sleep", "60000", NULL};
  const int32_t none[] = {-1, -1, -1};
  for (int i = 0; i < 3; i++) {
    int pid;
    sprout_error err;
    CHECK_OK(spawn_probe(&a, args, i == 2 ? none : i == 1 ? none : NULL, i == 2 ? 3 : 0, &pid, &err),
             &err);
    await_exec(pid);
    CHECK(!strcmp(proc_fd_list(pid), ""), "case %d: fds %s", i, proc_fd_list(pid));
    kill_probe(pid);
  }
}

/* Keeps 8 inheritable fds open at any time, opening and closing them in a loop. */
static volatile int stop_opening;

static void *open_inheritable_fds(void *unused) {
  (void)unused;
  int ring[8];
  for (int i = 0; i < 8; i++) ring[i] = open("/dev/null", O_RDONLY);
  for (unsigned long n = 0; !FLAG_GET(stop_opening); n++) {
    close(ring[n % 8]);
    ring[n % 8] = open("/dev/null", O_RDONLY);
  }
  return NULL;
}

TEST(fds_other_threads_open_meanwhile_never_leak) {
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, open_inheritable_fds, NULL) == 0, "pthread_create");
  for (int i = 0; i < 300; i++) {
    make_out_pipe();
    int32_t fds[] = {-1, out_w, -1};
    int pid;
    char *report = start_reporting(fds, 3, &pid);
    CHECK(count_lines(report, "fd=") == 1, "spawn %d: a leaked fd:\n%s", i, report);
    CHECK(!strcmp(proc_fd_list(pid), "1"), "spawn %d: fds %s", i, proc_fd_list(pid));
    kill_probe(pid);
    free(report);
  }
  FLAG_SET(stop_opening, 1);
  pthread_join(thread, NULL);
}

/* A seccomp filter for this process: close_range fails with errno_. */
static void refuse_close_range(int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
  CHECK(syscall(SYS_close_range, 1000000, 1000001, 0) == -1 && errno == errno_,
        "the filter does not refuse close_range");
}

/* Opens /dev/null at exactly fd `at` (inheritable). */
static void null_at(int at) {
  int fd = open("/dev/null", O_RDONLY);
  CHECK(fd >= 0, "open: %s", strerror(errno));
  if (fd != at) {
    CHECK(dup2(fd, at) == at, "dup2 to %d: %s", at, strerror(errno));
    close(fd);
  }
}

/*
 * With close_range refused, the child closes each fd and asks /proc/self/fd where the next
 * open one is after a run of free ones. The caller holds about 20,000 fds (as many as
 * RLIMIT_NOFILE allows): a dense block, then single fds after gaps of every length around
 * the run the fallback tries before it asks (31, 32, 33 free fds and more), and one at the
 * very top. Two layouts: a hole at slot 0 (where the directory's own fd lands, below the
 * first fd to close) and every slot used (the directory's fd lands among the fds to close).
 * /proc/PID/fd must show exactly the layout.
 */
static void check_fds_closed_without_close_range(int errno_) {
  struct rlimit limit;
  CHECK(getrlimit(RLIMIT_NOFILE, &limit) == 0, "getrlimit");
  if (limit.rlim_max > 20000) limit.rlim_max = 20000;
  limit.rlim_cur = limit.rlim_max;
  CHECK(setrlimit(RLIMIT_NOFILE, &limit) == 0, "setrlimit: %s", strerror(errno));
  int top = (int)limit.rlim_cur - 1;
  CHECK(top >= 1100, "RLIMIT_NOFILE %d is too low for this test", top + 1);
  /* The sparse part: after `dense_end`, fds separated by these gaps, then `top`. */
  static const int gaps[] = {1, 30, 31, 32, 33, 34, 63, 64, 65, 200};
  int span = 0;
  for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) span += gaps[i] + 1;
  int dense_end = top - span - 100;
  for (int fd; (fd = open("/dev/null", O_RDONLY)) < dense_end;)
    CHECK(fd >= 0, "open: %s", strerror(errno));
  int sparse = dense_end;
  for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
    sparse += gaps[i] + 1;
    null_at(sparse);
  }
  null_at(top);
  char *a_path = file_at("a", 400, 0);
  refuse_close_range(errno_);
  for (int round = 0; round < 4; round++) { /* again after the library noted the refusal */
    make_out_pipe();
    if (round % 2 == 0) {
      int32_t fds[] = {-1, out_w, 2, -1, 400};
      int pid;
      char *report = start_reporting(fds, 5, &pid);
      CHECK(!strcmp(proc_fd_list(pid), "1 2 4"), "round %d: fds %s", round, proc_fd_list(pid));
      CHECK_TARGET(pid, 4, a_path);
      CHECK(count_lines(report, "fd=") == 3, "report:\n%s", report);
      kill_probe(pid);
    } else {
      int32_t fds[] = {0, out_w, 2, 400};
      int pid;
      char *report = start_reporting(fds, 4, &pid);
      CHECK(!strcmp(proc_fd_list(pid), "0 1 2 3"), "round %d: fds %s", round, proc_fd_list(pid));
      CHECK_TARGET(pid, 3, a_path);
      CHECK(count_lines(report, "fd=") == 4, "report:\n%s", report);
      kill_probe(pid);
    }
  }
}

TEST(close_range_missing_falls_back_to_proc_self_fd) { check_fds_closed_without_close_range(ENOSYS); }

TEST(close_range_refused_falls_back_to_proc_self_fd) { check_fds_closed_without_close_range(EPERM); }

/* With close_range refused and no /proc to list the fds from, the other fds cannot be closed:
 * the spawn fails (stage FDS, naming what it could not do) rather than let them through. */
TEST(without_close_range_or_proc_the_spawn_fails_closed) {
  need_root();
  CHECK(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "mount: %s", strerror(errno));
  refuse_close_range(ENOSYS);
  char *a_path = file_at("a", 7, 0); /* inheritable, and not in the layout */
  CHECK(mount("none", "/proc", "tmpfs", 0, NULL) == 0, "mounting over /proc: %s", strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"pause", NULL};
  int32_t fds[] = {0, 1, 2};
  int pid = 0;
  sprout_error err;
  int rc = spawn_probe(&a, args, fds, 3, &pid, &err);
  CHECK(umount2("/proc", MNT_DETACH) == 0, "umount /proc: %s", strerror(errno));
  if (rc == 0) {
    await_exec(pid);
    CHECK(0, "the spawn succeeded; the process has fds %s", proc_fd_list(pid));
  }
  CHECK(rc == -ENOENT && err.code == ENOENT && err.stage == SPROUT_STAGE_FDS,
        "rc %d stage %s: %s", rc, sprout_stage_name(err.stage), err.message);
  CHECK_MESSAGE_HAS(&err, "closing every fd from 3");
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child was left behind");
  (void)a_path;
}

/* One layout through a real spawn: the caller's fds 0-3 are four distinct files (3 is the
 * probe), fds[] a map from slots to them, and the program must hold exactly the slots asked,
 * each on the file asked, and never the exec fd (at 3 or 4) unless a slot names it. */
static void check_layout(const int32_t *fds, size_t len, int exec_fd, char targets[5][PATH_MAX]) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.exec_fd = exec_fd;
  const char *args[] = {"pause", NULL};
  int pid;
  sprout_error err;
  CHECK_OK(spawn_probe(&a, args, fds, len, &pid, &err), &err);
  await_exec(pid);
  char want[64] = "", layout[64] = "";
  for (size_t slot = 0; slot < len; slot++) {
    size_t n = strlen(layout);
    snprintf(layout + n, sizeof layout - n, "%s%d", slot ? " " : "", fds[slot]);
    if (fds[slot] < 0) continue;
    n = strlen(want);
    snprintf(want + n, sizeof want - n, "%s%zu", want[0] ? " " : "", slot);
  }
  CHECK(!strcmp(proc_fd_list(pid), want), "fds {%s} with exec_fd %d: the process has fds \"%s\", not \"%s\"",
        layout, exec_fd, proc_fd_list(pid), want);
  for (size_t slot = 0; slot < len; slot++) {
    if (fds[slot] < 0) continue;
    char target[PATH_MAX];
    proc_fd_target(pid, (int)slot, target, sizeof target);
    CHECK(!strcmp(target, targets[fds[slot]]), "fds {%s}: slot %zu -> %s, not %s", layout, slot,
          target, targets[fds[slot]]);
  }
  kill_probe(pid);
  for (int fd = 0; fd < 5; fd++) {
    char target[PATH_MAX];
    proc_fd_target(getpid(), fd, target, sizeof target);
    CHECK(!strcmp(target, targets[fd]), "the caller's fd %d changed to %s", fd, target);
    CHECK(fcntl(fd, F_GETFD) == (fd % 2 ? FD_CLOEXEC : 0), "the caller's fd %d changed flags", fd);
  }
}

TEST(every_layout_of_four_fds_lands_where_asked_in_real_processes) {
  /* The harness reads stderr: CHECK's messages go to a copy, as fds 0-2 are replaced. */
  int saved_err = fcntl(2, F_DUPFD_CLOEXEC, 100);
  CHECK(saved_err >= 0, "F_DUPFD: %s", strerror(errno));
  FILE *messages = fdopen(saved_err, "w");
  CHECK(messages != NULL, "fdopen");
  setvbuf(messages, NULL, _IONBF, 0);
  stderr = messages;
  /* Odd fds close-on-exec, even ones not: the layout must give each slot without the flag
   * and leave the caller's flags alone. */
  char targets[5][PATH_MAX];
  static const char *const names[] = {"f0", "f1", "f2"};
  for (int fd = 0; fd < 3; fd++) {
    char *path = file_at(names[fd], fd, fd % 2);
    snprintf(targets[fd], PATH_MAX, "%s", path);
    free(path);
  }
  CHECK(realpath(probe_path(), targets[3]) != NULL, "realpath: %s", strerror(errno));
  for (int fd = 3; fd < 5; fd++) {
    int opened = open(probe_path(), O_RDONLY | (fd % 2 ? O_CLOEXEC : 0));
    CHECK(opened >= 0 && (opened == fd || dup3(opened, fd, fd % 2 ? O_CLOEXEC : 0) == fd),
          "opening the probe at %d: %s", fd, strerror(errno));
    if (opened != fd) close(opened);
  }
  memcpy(targets[4], targets[3], PATH_MAX);
  int layouts = 0;
  /* Every permutation of the four, each with the exec fd among them (3) or not (4). */
  for (int i = 0; i < 4 * 4 * 4 * 4; i++) {
    int32_t fds[4] = {i % 4, i / 4 % 4, i / 16 % 4, i / 64};
    int seen = 0;
    for (int slot = 0; slot < 4; slot++) seen |= 1 << fds[slot];
    if (seen != 0xf) continue;
    check_layout(fds, 4, 3 + i % 2, targets);
    check_layout(fds, 4, 4 - i % 2, targets);
    layouts++;
  }
  CHECK(layouts == 24, "%d permutations", layouts);
  /* Every map of three slots to the four fds or -1: duplicates and holes. */
  for (int i = 0; i < 5 * 5 * 5; i++) {
    int32_t fds[3] = {i % 5 - 1, i / 5 % 5 - 1, i / 25 - 1};
    check_layout(fds, 3, 3 + i % 2, targets);
  }
}

/* Lowers this process's soft RLIMIT_NOFILE (the hard limit stays). */
static void set_soft_nofile(rlim_t soft) {
  struct rlimit limit;
  CHECK(getrlimit(RLIMIT_NOFILE, &limit) == 0, "getrlimit");
  limit.rlim_cur = soft;
  CHECK(setrlimit(RLIMIT_NOFILE, &limit) == 0, "setrlimit %llu: %s", (unsigned long long)soft,
        strerror(errno));
}

TEST(a_layout_reusing_an_fd_in_place_needs_no_spare_fd_at_the_limit) {
  /* Issue 9 defect 5: {63, 1, 1} under RLIMIT_NOFILE 64. Slot 2's source 1 is below its slot,
   * but slot 1 keeps fd 1, so nothing needs a copy; sprout used to copy it to "highest source
   * + 1" = 64, past the limit (EBADF naming fds[2]). The caller's 1 is a file here, so the
   * probe's report lands there. */
  char *a_path = file_at("a", 63, 1);
  char *out_path = temp_path("out");
  int saved = fcntl(1, F_DUPFD_CLOEXEC, 10);
  CHECK(saved >= 0, "F_DUPFD: %s", strerror(errno));
  file_at("out", 1, 0);
  set_soft_nofile(64);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "pause", NULL};
  int32_t fds[] = {63, 1, 1};
  int pid;
  sprout_error err;
  int rc = spawn_probe(&a, args, fds, 3, &pid, &err);
  dup2(saved, 1);
  CHECK(rc == 0, "spawn: %d (%s)", rc, err.message);
  char *report = await_report_in(out_path);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 0, a_path);
  CHECK_TARGET(pid, 1, out_path);
  CHECK_TARGET(pid, 2, out_path);
  CHECK_REPORTED(report, 0, a_path);
  kill_probe(pid);
}

TEST(a_swap_near_the_limit_parks_at_the_lowest_free_fd) {
  /* Swapping 3 and 4 needs one copy; with fd 63 in the layout and RLIMIT_NOFILE 64 it used to
   * go to fd 64 (EBADF); the lowest free fd from the slot count is far below the limit. */
  char *a_path = file_at("a", 3, 1);
  char *b_path = file_at("b", 4, 1);
  char *c_path = file_at("c", 63, 1);
  make_out_pipe();
  set_soft_nofile(64);
  int32_t fds[] = {63, out_w, 2, 4, 3};
  int pid;
  char *report = start_reporting(fds, 5, &pid);
  CHECK(!strcmp(proc_fd_list(pid), "0 1 2 3 4"), "fds %s", proc_fd_list(pid));
  CHECK_TARGET(pid, 0, c_path);
  CHECK_TARGET(pid, 3, b_path);
  CHECK_TARGET(pid, 4, a_path);
  CHECK_REPORTED(report, 3, b_path);
  CHECK_REPORTED(report, 4, a_path);
  kill_probe(pid);
  CHECK_TARGET(getpid(), 3, a_path);
  CHECK_TARGET(getpid(), 4, b_path);
}

TEST(a_copy_that_finds_no_free_fd_names_its_slot_and_why) {
  /* Every fd from 5 to the limit (64) open, and fd 2 free (the pidfd of the spawn takes it in
   * the caller): the swap of 3 and 4 cannot copy fd 3 anywhere. */
  file_at("a", 3, 1);
  file_at("b", 4, 1);
  set_soft_nofile(64);
  close(2);
  int filler;
  while ((filler = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && filler < 63) {
  }
  CHECK(fcntl(63, F_GETFD) >= 0, "fd 63 is not open (last: %d, %s)", filler, strerror(errno));
  close(2);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"exit", "0", NULL};
  int32_t fds[] = {0, 1, -1, 4, 3};
  int pid;
  sprout_error err;
  CHECK_FAILS(spawn_probe(&a, args, fds, 5, &pid, &err), &err, EMFILE, SPROUT_STAGE_FDS);
  CHECK(!strcmp(err.message,
                "fds: fds[4] = 3: copying it aside, as fds[3] takes fd 3 first: Too many open files"),
        "message \"%s\"", err.message);
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child is left behind");
}

int main(void) {
  temp_root_create("core-fds");
  RUN(child_3_and_4_swap_the_callers_3_and_4);
  RUN(a_cycle_of_three_and_a_duplicate_and_stdio_as_a_source);
  RUN(stdio_rotated_among_themselves);
  RUN(an_fd_at_its_own_slot_is_kept_with_or_without_cloexec);
  RUN(minus_one_leaves_a_slot_closed);
  RUN(inheritable_caller_fds_do_not_leak);
  RUN(the_callers_fds_and_their_flags_are_unchanged);
  RUN(a_closed_or_negative_fd_is_ebadf_in_args_naming_index_and_fd);
  RUN(no_fds_at_all);
  RUN(every_layout_of_four_fds_lands_where_asked_in_real_processes);
  RUN(fds_other_threads_open_meanwhile_never_leak);
  RUN(close_range_missing_falls_back_to_proc_self_fd);
  RUN(close_range_refused_falls_back_to_proc_self_fd);
  RUN(without_close_range_or_proc_the_spawn_fails_closed);
  RUN(a_layout_reusing_an_fd_in_place_needs_no_spare_fd_at_the_limit);
  RUN(a_swap_near_the_limit_parks_at_the_lowest_free_fd);
  RUN(a_copy_that_finds_no_free_fd_names_its_slot_and_why);
  temp_root_remove();
  return summary();
}
