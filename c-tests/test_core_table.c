/* The process table (wait, signal, pidfd, release, list, containers), the parent-death signal,
 * what the library must never touch (children it did not start, the caller's fds), spawning
 * from many threads at once, and clone3 refused by a seccomp profile. */
#include "core_util.h"

#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

/* Starts the probe with args, stdin and stdout pipes to us; see harness.h. */
static probe start(sprout_exec_args *a, const char *const *args) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, args, &p, &err), &err);
  return p;
}

/* The process state letter /proc/PID/status shows ('S', 'Z', ...), or 0 when it is gone. */
static char state_of(int pid) {
  char *text = proc_file(pid, "status");
  if (!text) return 0;
  const char *state = field(text, "State");
  char c = state ? state[0] : 0;
  free(text);
  return c;
}

/* Whether pid is a process that has not ended (it may be running or sleeping). */
static int alive(int pid) {
  char state = state_of(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

/* Waits up to 10 s for pid, a child of ours, to end; returns its status, or -1 if it did not. */
static int reap_within_10s(int pid) {
  for (int i = 0; i < 10000; i++) {
    int status;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    CHECK(got == 0, "waitpid(%d): %s", pid, strerror(errno));
    usleep(1000);
  }
  return -1;
}

/* Spawns a probe with parent_death_signal SIGUSR1 (and `credentials`, if any) from a middle
 * process that then exits, and checks that the orphan, re-parented to us, dies of SIGUSR1. */
static void check_orphan_gets_parent_death_signal(const sprout_credentials *credentials) {
  /* The process outlives the one that spawned it and is re-parented to us. */
  CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  int pipe_fds[2];
  CHECK(pipe2(pipe_fds, O_CLOEXEC) == 0, "pipe2");
  pid_t middle = fork();
  CHECK(middle >= 0, "fork");
  if (middle == 0) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.parent_death_signal = SIGUSR1;
    a.credentials = credentials;
    const char *args[] = {"pause", NULL};
    const int32_t fds[] = {-1, -1, 2};
    int pid = -1;
    sprout_error err;
    if (spawn_probe(&a, args, fds, 3, &pid, &err) != 0) fprintf(stderr, "  middle: %s\n", err.message);
    (void)!write(pipe_fds[1], &pid, sizeof pid);
    _exit(0);
  }
  close(pipe_fds[1]);
  int pid = -1;
  CHECK(read(pipe_fds[0], &pid, sizeof pid) == sizeof pid && pid > 0, "the middle process failed");
  int status;
  CHECK(waitpid(middle, &status, 0) == middle, "waitpid middle");
  status = reap_within_10s(pid);
  if (status == -1) kill(pid, SIGKILL);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1,
        "the orphan ended with status %#x, not by SIGUSR1", status);
}

TEST(parent_death_signal_kills_the_orphan) { check_orphan_gets_parent_death_signal(NULL); }

/* The kernel clears the parent-death signal when credentials change: sprout sets it after. */
TEST(parent_death_signal_survives_a_credentials_change) {
  need_root();
  sprout_credentials nobody = {65534, 65534, NULL, 0};
  check_orphan_gets_parent_death_signal(&nobody);
}

TEST(parent_death_signal_with_the_parent_alive_keeps_the_process_running) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.parent_death_signal = SIGUSR1;
  const char *args[] = {"say", "ready", "wait", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  sprout_error err;
  int status = -1;
  CHECK_FAILS(sprout_wait(p.pid, 100, &status, &err), &err, ETIMEDOUT, SPROUT_STAGE_WAIT);
  CHECK(alive(p.pid), "state %c", state_of(p.pid));
  status = finish_probe(&p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

  a.parent_death_signal = 65;
  probe q;
  CHECK_FAILS(start_probe(&a, args, &q, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.parent_death_signal = -1;
  CHECK_FAILS(start_probe(&a, args, &q, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
}

TEST(wait_polls_times_out_and_then_waits_for_the_status) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "ready", "wait", "exit", "7", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  sprout_error err;
  int status = 12345;
  CHECK_FAILS(sprout_wait(p.pid, 0, &status, &err), &err, ETIMEDOUT, SPROUT_STAGE_WAIT);
  CHECK_FAILS(sprout_wait(p.pid, 100, &status, &err), &err, ETIMEDOUT, SPROUT_STAGE_WAIT);
  CHECK_FAILS(sprout_wait(p.pid, -2, &status, &err), &err, EINVAL, SPROUT_STAGE_WAIT);
  CHECK(status == 12345, "wait_status written on failure");
  CHECK(alive(p.pid), "state %c", state_of(p.pid));
  CHECK(sprout_signal(p.pid, 0) == 0, "signal 0 to a running process");
  close(p.to_stdin);
  CHECK_OK(sprout_wait(p.pid, -1, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
  CHECK(state_of(p.pid) == 0, "process %d is still there (state %c)", p.pid, state_of(p.pid));
  CHECK_FAILS(sprout_wait(p.pid, -1, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK(sprout_signal(p.pid, SIGTERM) == -ESRCH, "signal after the wait");
  CHECK(sprout_signal(p.pid, 0) == -ESRCH, "signal 0 after the wait");
  CHECK(sprout_pidfd(p.pid) == -ESRCH, "pidfd after the wait");
  close(p.from_stdout);
}

TEST(signal_ends_a_process_and_wait_status_may_be_null) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "ready", "pause", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  CHECK(sprout_signal(p.pid, SIGTERM) == 0, "sprout_signal");
  int status;
  sprout_error err;
  CHECK_OK(sprout_wait(p.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  CHECK(sprout_signal(p.pid, SIGTERM) == -ESRCH, "signal after the wait");

  p = start(&a, args);
  await_say(p.from_stdout, "ready");
  CHECK(sprout_signal(p.pid, SIGKILL) == 0, "sprout_signal");
  CHECK_OK(sprout_wait(p.pid, 10000, NULL, &err), &err);
  CHECK(state_of(p.pid) == 0, "process %d is not reaped", p.pid);
  CHECK(sprout_signal(getpid(), 0) == -ESRCH, "a pid the library did not start");
  CHECK(sprout_signal(p.pid, 1000) == -ESRCH, "untracked pid with a bad signal");
}

TEST(pidfd_is_close_on_exec_and_readable_once_the_process_ends) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "ready", "wait", "exit", "3", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  int pidfd = sprout_pidfd(p.pid);
  CHECK(pidfd >= 0, "sprout_pidfd: %d", pidfd);
  CHECK(fcntl(pidfd, F_GETFD) == FD_CLOEXEC, "the pidfd lacks close-on-exec");
  int other = sprout_pidfd(p.pid);
  CHECK(other >= 0 && other != pidfd, "a second pidfd: %d", other);
  close(other);
  char fdinfo[64], pid_line[32];
  snprintf(fdinfo, sizeof fdinfo, "/proc/self/fdinfo/%d", pidfd);
  char *info = read_file(fdinfo);
  snprintf(pid_line, sizeof pid_line, "Pid:\t%d", p.pid);
  CHECK(info && has_line(info, pid_line), "the pidfd is not for %d:\n%s", p.pid, info ? info : "");
  struct pollfd poll_fd = {pidfd, POLLIN, 0};
  CHECK(poll(&poll_fd, 1, 0) == 0, "readable while the process runs");
  close(p.to_stdin);
  CHECK(poll(&poll_fd, 1, 10000) == 1 && (poll_fd.revents & POLLIN), "not readable after exit");
  int status;
  sprout_error err;
  CHECK_OK(sprout_wait(p.pid, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
  CHECK(sprout_pidfd(p.pid) == -ESRCH, "pidfd after the wait");
  CHECK(sprout_pidfd(getpid()) == -ESRCH, "pidfd of a process the library did not start");
  close(pidfd);
  close(p.from_stdout);
}

/* sprout_pidfd is a dup: a poller that makes its copy non-blocking makes the library's too. A
 * blocking sprout_wait must still wait (waitid alone would say EAGAIN). */
TEST(wait_blocks_after_the_caller_made_its_pidfd_non_blocking) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  /* Still running when the wait starts. */
  const char *args[] = {"say", "ready", "sleep", "300", "exit", "5", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  int pidfd = sprout_pidfd(p.pid);
  CHECK(pidfd >= 0, "sprout_pidfd: %d", pidfd);
  CHECK(fcntl(pidfd, F_SETFL, fcntl(pidfd, F_GETFL) | O_NONBLOCK) == 0, "O_NONBLOCK: %s", strerror(errno));
  int status = -1;
  sprout_error err;
  int rc = sprout_wait(p.pid, -1, &status, &err);
  CHECK(rc == 0, "sprout_wait: %d (%s)", rc, err.message);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5, "status %#x", status);
  CHECK(fcntl(pidfd, F_GETFL) & O_NONBLOCK, "the caller's pidfd lost O_NONBLOCK");
  close(pidfd);
  close(p.to_stdin);
  close(p.from_stdout);
}

TEST(release_forgets_the_process_and_the_caller_reaps_it) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "7", NULL};
  a.argv = argv;
  int fds_before = own_fd_count();
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
  CHECK(own_fd_count() == fds_before + 1, "the library holds %d fds for one process",
        own_fd_count() - fds_before);
  CHECK(sprout_release(proc.pid) == 0, "sprout_release");
  CHECK(own_fd_count() == fds_before, "the pidfd was kept after the release");
  int status;
  CHECK_FAILS(sprout_wait(proc.pid, -1, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK(sprout_signal(proc.pid, 0) == -ESRCH, "signal after the release");
  CHECK(sprout_release(proc.pid) == -ESRCH, "a second release");
  CHECK(waitpid(proc.pid, &status, 0) == proc.pid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
}

static int in_list(int pid, const int32_t *pids, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid) return 1;
  return 0;
}

TEST(list_and_signal_by_container) {
  char ctr_a[64], ctr_b[64];
  snprintf(ctr_a, sizeof ctr_a, "ctr-%d-a", getpid());
  snprintf(ctr_b, sizeof ctr_b, "ctr-%d-b", getpid());
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "ready", "pause", NULL};
  probe in_a[3], in_b[2], loose;
  a.container_id = ctr_a;
  for (int i = 0; i < 3; i++) in_a[i] = start(&a, args);
  a.container_id = ctr_b;
  for (int i = 0; i < 2; i++) in_b[i] = start(&a, args);
  a.container_id = NULL;
  loose = start(&a, args);
  /* All of them run the probe (a signal to one still in exec would not tell the same). */
  for (int i = 0; i < 3; i++) await_say(in_a[i].from_stdout, "ready");
  for (int i = 0; i < 2; i++) await_say(in_b[i].from_stdout, "ready");
  await_say(loose.from_stdout, "ready");

  int32_t pids[16];
  size_t count = 99;
  for (int i = 0; i < 16; i++) pids[i] = -77;
  CHECK(sprout_list(ctr_a, pids, 2, &count) == 0, "sprout_list");
  CHECK(count == 3, "count %zu, not 3", count);
  CHECK(pids[0] < pids[1], "not ascending: %d %d", pids[0], pids[1]);
  for (int i = 0; i < 2; i++)
    CHECK(pids[i] == in_a[0].pid || pids[i] == in_a[1].pid || pids[i] == in_a[2].pid,
          "pid %d is not in %s", pids[i], ctr_a);
  CHECK(pids[2] == -77, "written past the capacity");
  CHECK(sprout_list(ctr_a, NULL, 0, &count) == 0 && count == 3, "count only: %zu", count);
  CHECK(sprout_list(ctr_b, pids, 16, &count) == 0 && count == 2, "%s: count %zu", ctr_b, count);
  CHECK(in_list(in_b[0].pid, pids, 2) && in_list(in_b[1].pid, pids, 2), "%s's pids", ctr_b);
  CHECK(sprout_list(NULL, pids, 16, &count) == 0 && count == 6, "all: count %zu", count);
  CHECK(in_list(loose.pid, pids, 6) && in_list(in_a[2].pid, pids, 6) && in_list(in_b[1].pid, pids, 6),
        "all: a pid is missing");
  CHECK(sprout_list("no-such-container", pids, 16, &count) == 0 && count == 0, "unknown: %zu", count);
  CHECK(sprout_list(NULL, pids, 16, NULL) == -EINVAL, "count NULL");
  CHECK(sprout_list(NULL, NULL, 4, &count) == -EINVAL, "pids NULL with a capacity");

  CHECK(sprout_signal_container(ctr_a, SIGTERM) == 3, "signal_container did not signal 3");
  for (int i = 0; i < 3; i++) {
    int status;
    sprout_error err;
    CHECK_OK(sprout_wait(in_a[i].pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  }
  for (int i = 0; i < 2; i++) CHECK(alive(in_b[i].pid), "%s was hit", ctr_b);
  CHECK(alive(loose.pid), "a process without a container was hit");
  CHECK(sprout_list(ctr_a, pids, 16, &count) == 0 && count == 0, "after the waits: %zu", count);
  CHECK(sprout_signal_container(ctr_a, SIGTERM) == 0, "no one left to signal");
  CHECK(sprout_signal_container(NULL, SIGTERM) == -EINVAL, "container NULL");
  CHECK(sprout_signal_container(ctr_b, SIGKILL) == 2, "signal_container did not signal 2");
  for (int i = 0; i < 2; i++) {
    int status;
    sprout_error err;
    CHECK_OK(sprout_wait(in_b[i].pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
  }
  kill_probe(loose.pid);
}

TEST(exec_returns_the_status_and_forgets_the_process) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "7", NULL};
  a.argv = argv;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
  size_t count = 99;
  CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "still listed: %zu", count);
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child is left");
  CHECK_OK(sprout_exec(&a, NULL, 0, NULL, &err), &err);
}

TEST(children_the_library_did_not_start_are_never_reaped) {
  int gate[2];
  CHECK(pipe2(gate, O_CLOEXEC) == 0, "pipe2");
  pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) {
    char c;
    close(gate[1]);
    (void)!read(gate[0], &c, 1);
    _exit(5);
  }
  close(gate[0]);
  int status;
  sprout_error err;
  CHECK_FAILS(sprout_wait(child, 0, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK_FAILS(sprout_wait(child, -1, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK(sprout_signal(child, 0) == -ESRCH, "signal to a child the library did not start");
  CHECK(sprout_pidfd(child) == -ESRCH, "pidfd");
  CHECK(sprout_release(child) == -ESRCH, "release");
  close(gate[1]);
  for (int i = 0; i < 10000 && state_of(child) != 'Z'; i++) usleep(1000);
  CHECK(state_of(child) == 'Z', "the child did not end");
  /* A zombie of the caller's: neither a wait on it nor spawns and waits of others reap it. */
  CHECK_FAILS(sprout_wait(child, -1, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  for (int i = 0; i < 5; i++) CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(state_of(child) == 'Z', "the zombie was reaped by the library");
  CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5, "status %#x", status);
}

TEST(spawns_failed_or_not_leave_no_fd_and_no_zombie) {
  char *script = temp_path("script");
  write_file(script, "no interpreter\n", 15, 0755);
  char *data = temp_path("data");
  write_file(data, "data", 4, 0644);
  int data_fd = open(data, O_RDONLY | O_CLOEXEC);
  CHECK(data_fd >= 0, "open");
  int closed = fcntl(0, F_DUPFD_CLOEXEC, 30);
  close(closed);
  int before = own_fd_count();
  for (int i = 0; i < 50; i++) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *ok[] = {probe_path(), "exit", "0", NULL};
    const char *missing[] = {"/nonexistent/prog", NULL};
    const char *searched[] = {"no-such-prog-in-path", NULL};
    const char *noexec[] = {script, NULL};
    int status;
    sprout_error err;
    a.argv = ok;
    CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
    a.parent_death_signal = SIGKILL;
    CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
    a.parent_death_signal = 0;
    a.argv = missing;
    CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -ENOENT, "%s", err.message);
    a.argv = searched;
    CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -ENOENT, "%s", err.message);
    a.argv = noexec;
    CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -ENOEXEC, "%s", err.message);
    a.argv = ok;
    a.working_directory = "/nonexistent";
    CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -ENOENT, "%s", err.message);
    a.working_directory = NULL;
    a.exec_fd = data_fd;
    CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -EACCES, "%s", err.message);
    a.exec_fd = -1;
    int32_t fds[] = {0, closed};
    CHECK(sprout_exec(&a, fds, 2, &status, &err) == -EBADF, "%s", err.message);
    sprout_process proc;
    CHECK(sprout_exec_async(&a, NULL, 0, &proc, &err) == 0, "%s", err.message);
    CHECK(sprout_signal(proc.pid, SIGKILL) == 0 && sprout_wait(proc.pid, -1, NULL, &err) == 0, "%s",
          err.message);
  }
  CHECK(own_fd_count() == before, "the caller had %d fds and now has %d: %s", before, own_fd_count(),
        proc_fd_list(getpid()));
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child (zombie) is left");
}

enum { THREADS = 8, SPAWNS_PER_THREAD = 50 };
static int thread_failures[THREADS];

static void *spawn_and_wait(void *arg) {
  int t = (int)(intptr_t)arg;
  char code[16], ctr[32];
  snprintf(code, sizeof code, "%d", t + 1);
  snprintf(ctr, sizeof ctr, "thread-%d", t);
  const char *argv[] = {probe_path(), "exit", code, NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  a.container_id = ctr;
  for (int i = 0; i < SPAWNS_PER_THREAD; i++) {
    sprout_process proc;
    sprout_error err;
    int status = -1;
    size_t count = 0;
    if (sprout_exec_async(&a, NULL, 0, &proc, &err) != 0 || sprout_list(ctr, NULL, 0, &count) != 0 ||
        count != 1 || sprout_wait(proc.pid, -1, &status, &err) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != t + 1) {
      fprintf(stderr, "  thread %d, spawn %d: %s (status %#x, listed %zu)\n", t, i, err.message,
              status, count);
      thread_failures[t]++;
    }
  }
  return NULL;
}

TEST(eight_threads_spawn_and_wait_fifty_times_each) {
  int before = own_fd_count();
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++)
    CHECK(pthread_create(&threads[t], NULL, spawn_and_wait, (void *)(intptr_t)t) == 0, "pthread_create");
  for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
  for (int t = 0; t < THREADS; t++) CHECK(thread_failures[t] == 0, "thread %d failed %d times", t, thread_failures[t]);
  size_t count = 99;
  CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "still listed: %zu", count);
  CHECK(own_fd_count() == before, "fds %d -> %d", before, own_fd_count());
}

/* Spawns the probe `rounds` times, each saying "TAG-i", and checks every answer. */
static void spawn_and_check_answers(const char *tag, int rounds) {
  for (int i = 0; i < rounds; i++) {
    char said[64];
    snprintf(said, sizeof said, "%s-%d", tag, i);
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *args[] = {"say", said, NULL};
    char *out = run_probe(&a, args);
    CHECK(!strncmp(out, said, strlen(said)) && out[strlen(said)] == '\n', "round %d said \"%s\"", i, out);
    free(out);
  }
}

/* The library keeps a stack area per thread in shared memory; a caller that forks after a spawn
 * must not have its copy spawn on the same area as itself. The copy does not own the caller's
 * processes either: they are not its children. */
TEST(a_caller_that_forked_spawns_in_both_processes_at_once) {
  spawn_and_check_answers("warm-up", 1);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"wait", NULL};
  probe held = start(&a, args);
  pid_t copy = fork();
  CHECK(copy >= 0, "fork");
  if (copy == 0) {
    size_t count = 99;
    CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "the copy lists %zu", count);
    CHECK(sprout_signal(held.pid, SIGKILL) == -ESRCH, "the copy could signal its parent's child");
    spawn_and_check_answers("copy", 300);
    _exit(0);
  }
  spawn_and_check_answers("original", 300);
  int status;
  CHECK(waitpid(copy, &status, 0) == copy, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked copy failed: status %#x", status);
  status = finish_probe(&held);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the held probe: status %#x", status);
}

static void check_spawns_without_clone3(int errno_) {
  refuse_clone3(errno_);
  for (int round = 0; round < 2; round++) { /* the second after the library noted the refusal */
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *envv[] = {"ROUND=x", NULL};
    a.envv = envv;
    a.umask = 027;
    const char *args[] = {"report", "wait", "exit", "4", NULL};
    probe p = start(&a, args);
    char *report = read_report(&p);
    CHECK(has_line(report, "env=ROUND=x") && count_lines(report, "env=") == 1, "report:\n%s", report);
    CHECK(!strcmp(field(report, "umask"), "0027"), "umask %s", field(report, "umask"));
    CHECK(!strcmp(proc_fd_list(p.pid), "0 1 2"), "fds %s", proc_fd_list(p.pid));
    int status = finish_probe(&p);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4, "round %d: status %#x", round, status);
  }
}

TEST(clone3_missing_falls_back_to_clone) { check_spawns_without_clone3(ENOSYS); }

TEST(clone3_refused_falls_back_to_clone) { check_spawns_without_clone3(EPERM); }

/* ---- Processes reaped behind the library's back, pid reuse, refused pidfd_send_signal ---- */

/* Checks what sprout_wait says of pid, a process someone else reaped after it ended with
 * `status`: that status where the kernel keeps it, else -ECHILD naming who reaped it. Then the
 * process is forgotten. */
static void check_status_of_reaped(int pid, int status, int kept, const char *reaper) {
  sprout_error err;
  int got = -1;
  if (kept) {
    CHECK_OK(sprout_wait(pid, 0, &got, &err), &err);
    CHECK(got == status, "pid %d: status %#x, not %#x", pid, got, status);
  } else {
    CHECK_FAILS(sprout_wait(pid, 0, &got, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
    CHECK_MESSAGE_HAS(&err, reaper);
    CHECK_MESSAGE_HAS(&err, "Linux 6.15");
  }
  CHECK_FAILS(sprout_wait(pid, 0, &got, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK_MESSAGE_HAS(&err, "not a live process started by sprout");
}

/* Waits up to 10 s until the pidfd of pid says it has ended (POLLIN), without reaping it. */
static void await_end(int pid) {
  int pidfd = sprout_pidfd(pid);
  CHECK(pidfd >= 0, "sprout_pidfd(%d): %d", pid, pidfd);
  struct pollfd poll_fd = {pidfd, POLLIN, 0};
  CHECK(poll(&poll_fd, 1, 10000) == 1, "pid %d did not end", pid);
  close(pidfd);
}

/* Starts a probe that exits with 7 once running, and reaps it with the caller's own
 * waitpid(-1), as a SIGCHLD handler would, behind the library's back. */
static probe start_and_reap_behind_the_back(int *status) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "ready", "wait", "exit", "7", NULL};
  probe p = start(&a, args);
  await_say(p.from_stdout, "ready");
  close(p.to_stdin);
  close(p.from_stdout);
  CHECK(waitpid(-1, status, 0) == p.pid, "waitpid(-1): %s", strerror(errno));
  return p;
}

/* A server that reaps with waitpid(-1) (here, in the open) took the status: sprout_wait still
 * gives it once, where the kernel keeps it, and the process no longer counts as tracked. */
TEST(a_process_the_caller_reaped_gives_its_status_to_sprout_wait) {
  int kept = kernel_keeps_exit_status();
  int status;
  probe p = start_and_reap_behind_the_back(&status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
  CHECK(sprout_signal(p.pid, 0) == -ESRCH, "signal to a reaped process");
  size_t count = 99;
  CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "a reaped process is listed");
  CHECK(sprout_pidfd(p.pid) == -ESRCH, "pidfd of a reaped process");
  check_status_of_reaped(p.pid, status, kept, "waitpid");
}

struct racing_wait {
  int pid, rc, status;
  sprout_error err;
};

static void *wait_in_thread(void *arg) {
  struct racing_wait *w = arg;
  w->rc = sprout_wait(w->pid, -1, &w->status, &w->err);
  return NULL;
}

/* A sprout_wait that blocks while the caller's waitpid(-1) takes the process: the kernel tells
 * the loser ECHILD a moment before it records the status; the wait still gets it (before Linux
 * 6.15, only when it wins). */
TEST(a_wait_racing_the_callers_waitpid_gets_the_status) {
  int kept = kernel_keeps_exit_status();
  for (int round = 0; round < 100; round++) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *args[] = {"say", "ready", "wait", "exit", "9", NULL};
    probe p = start(&a, args);
    await_say(p.from_stdout, "ready");
    struct racing_wait w = {.pid = p.pid};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, wait_in_thread, &w) == 0, "pthread_create");
    close(p.to_stdin);
    int status;
    pid_t got = waitpid(-1, &status, 0);
    pthread_join(thread, NULL);
    CHECK(got == p.pid || (got < 0 && errno == ECHILD), "round %d: waitpid got %d", round, got);
    if (!kept && got == p.pid) {
      CHECK(w.rc == -ECHILD, "round %d: sprout_wait returned %d (%s)", round, w.rc, w.err.message);
      continue;
    }
    CHECK(w.rc == 0, "round %d: sprout_wait returned %d (%s)", round, w.rc, w.err.message);
    CHECK(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 9, "round %d: status %#x", round, w.status);
    close(p.from_stdout);
  }
}

/* With SIGCHLD ignored (or SA_NOCLDWAIT) the kernel reaps the caller's children itself; the
 * status of sprout's processes is still there, from the pidfd, for as long as the table keeps
 * it, and a failed exec is still reported as one. */
static void check_children_reaped_by_the_kernel(int kept) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "7", NULL};
  a.argv = argv;
  int status = -1;
  sprout_error err;
  int rc = sprout_exec(&a, NULL, 0, &status, &err);
  if (kept) {
    CHECK(rc == 0, "sprout_exec: %d (%s)", rc, err.message);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
  } else {
    CHECK(rc == -ECHILD && err.stage == SPROUT_STAGE_WAIT, "sprout_exec: %d (%s)", rc, err.message);
    CHECK_MESSAGE_HAS(&err, "SIGCHLD is ignored");
  }
  const char *missing[] = {"/nonexistent/prog", NULL};
  a.argv = missing;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, ENOENT, SPROUT_STAGE_EXEC);

  /* Ended long before the wait, with a hundred spawns (and so prunes) in between. */
  int before = own_fd_count();
  const char *nine[] = {probe_path(), "exit", "9", NULL};
  a.argv = nine;
  sprout_process proc;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
  await_end(proc.pid);
  a.argv = argv;
  for (int i = 0; i < 100; i++) {
    sprout_process other;
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &other, &err), &err);
    CHECK_OK(sprout_release(other.pid), &err);
  }
  size_t count = 99;
  CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "listed: %zu", count);
  CHECK(own_fd_count() == before, "fds %d -> %d", before, own_fd_count());
  check_status_of_reaped(proc.pid, 9 << 8, kept, "SIGCHLD is ignored");
  /* With children reaped by the kernel, waitpid(-1) waits for them all and then says ECHILD. */
  CHECK(waitpid(-1, &status, 0) < 0 && errno == ECHILD, "a child was left to reap");
}

TEST(sigchld_ignored_exec_and_wait_still_return_the_status) {
  int kept = kernel_keeps_exit_status();
  signal(SIGCHLD, SIG_IGN);
  check_children_reaped_by_the_kernel(kept);
}

TEST(sa_nocldwait_exec_and_wait_still_return_the_status) {
  int kept = kernel_keeps_exit_status();
  struct sigaction action = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
  CHECK(sigaction(SIGCHLD, &action, NULL) == 0, "sigaction");
  check_children_reaped_by_the_kernel(kept);
}

/* Installs a seccomp filter on this process with `len` instructions before the final ALLOW. */
static void install_filter(struct sock_filter *filter, unsigned short len) {
  filter[len] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {(unsigned short)(len + 1), filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
}

/* System call nr fails with errno_, as under a container profile written before it existed. */
static void refuse_syscall(long nr, int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      {0, 0, 0, 0},
  };
  install_filter(filter, 3);
}

/* ioctl(request) fails with errno_, as on a kernel that does not know the request. */
static void refuse_ioctl(unsigned long request, int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
      /* The low half of the request (little-endian). */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)request, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      {0, 0, 0, 0},
  };
  install_filter(filter, 5);
}

/* On a kernel without PIDFD_INFO_EXIT (simulated: PIDFD_GET_INFO unknown, as before 6.13) the
 * status of a process someone else reaped is lost; sprout_wait says so, and who reaped it. */
TEST(without_a_kept_status_wait_says_who_reaped_the_process) {
  refuse_ioctl(TEST_PIDFD_GET_INFO, ENOTTY);
  CHECK(!kernel_keeps_exit_status(), "the filter does not hide PIDFD_INFO_EXIT");
  int status;
  probe p = start_and_reap_behind_the_back(&status);
  check_status_of_reaped(p.pid, status, 0, "a waitpid of the caller's");
  signal(SIGCHLD, SIG_IGN);
  check_children_reaped_by_the_kernel(0);
}

static volatile sig_atomic_t reaped_by_handler;

static void reap_all(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) reaped_by_handler++;
  errno = saved;
}

/* A server whose SIGCHLD handler reaps everything with waitpid(-1) and never calls sprout_wait:
 * the table drops what is gone (its pidfds closed, a bounded number of statuses kept), so fds
 * and the table do not grow with the processes started. */
TEST(processes_reaped_behind_the_librarys_back_leave_the_table) {
  int kept = kernel_keeps_exit_status();
  struct sigaction action = {.sa_handler = reap_all, .sa_flags = SA_RESTART};
  CHECK(sigaction(SIGCHLD, &action, NULL) == 0, "sigaction");
  enum { FIRST = 300, MORE = 1100 }; /* MORE + FIRST > the 1024 statuses kept */
  static int pids[FIRST + MORE];
  int before = own_fd_count(), most = 0;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  for (int i = 0; i < FIRST + MORE; i++) {
    char code[16];
    snprintf(code, sizeof code, "%d", i % 100);
    const char *argv[] = {probe_path(), "exit", code, NULL};
    a.argv = argv;
    sprout_process proc;
    sprout_error err;
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    pids[i] = proc.pid;
    int fds = own_fd_count() - before;
    if (fds > most) most = fds;
    if (i == FIRST - 1) {
      for (int t = 0; t < 10000 && reaped_by_handler < FIRST; t++) usleep(1000);
      CHECK(reaped_by_handler == FIRST, "the handler reaped %d of %d", (int)reaped_by_handler, FIRST);
      size_t count = 99;
      CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "listed: %zu", count);
      CHECK(own_fd_count() == before, "fds %d -> %d", before, own_fd_count());
      for (int j = 0; j < FIRST; j += 7) check_status_of_reaped(pids[j], (j % 100) << 8, kept, "waitpid");
    }
  }
  /* Pruned when the table has doubled: never many more pidfds than PRUNE_MIN (64). */
  CHECK(most <= 80, "up to %d pidfds held for %d processes", most, FIRST + MORE);
  for (int t = 0; t < 10000 && reaped_by_handler < FIRST + MORE; t++) usleep(1000);
  size_t count = 99;
  CHECK(sprout_list(NULL, NULL, 0, &count) == 0 && count == 0, "listed: %zu", count);
  CHECK(own_fd_count() == before, "fds %d -> %d", before, own_fd_count());
  /* The oldest statuses were dropped past 1024; the newest are kept. */
  sprout_error err;
  int status;
  CHECK_FAILS(sprout_wait(pids[FIRST], 0, &status, &err), &err, ECHILD, SPROUT_STAGE_WAIT);
  CHECK_MESSAGE_HAS(&err, "not a live process started by sprout");
  int last = FIRST + MORE - 1;
  check_status_of_reaped(pids[last], (last % 100) << 8, kept, "waitpid");
}

/* Exited-but-unreaped processes are not alive: sprout_signal_container does not count them,
 * nor processes someone else reaped. */
TEST(signal_container_counts_only_processes_that_are_alive) {
  int kept = kernel_keeps_exit_status();
  char ctr[64];
  snprintf(ctr, sizeof ctr, "ctr-%d-alive", getpid());
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.container_id = ctr;
  const char *pausing[] = {"say", "ready", "pause", NULL};
  const char *waiting3[] = {"say", "ready", "wait", "exit", "3", NULL};
  const char *waiting4[] = {"say", "ready", "wait", "exit", "4", NULL};
  probe running = start(&a, pausing), exited = start(&a, waiting3), reaped = start(&a, waiting4);
  await_say(running.from_stdout, "ready");
  await_say(exited.from_stdout, "ready");
  await_say(reaped.from_stdout, "ready");
  close(exited.to_stdin);
  await_end(exited.pid);
  close(reaped.to_stdin);
  int status;
  CHECK(waitpid(reaped.pid, &status, 0) == reaped.pid, "waitpid");
  CHECK(sprout_signal_container(ctr, SIGTERM) == 1, "not only the running process was counted");
  int32_t pids[4];
  size_t count = 0;
  CHECK(sprout_list(ctr, pids, 4, &count) == 0 && count == 2, "listed %zu", count);
  CHECK(in_list(running.pid, pids, 2) && in_list(exited.pid, pids, 2), "the wrong two are listed");
  sprout_error err;
  CHECK_OK(sprout_wait(running.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  CHECK_OK(sprout_wait(exited.pid, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
  check_status_of_reaped(reaped.pid, 4 << 8, kept, "waitpid");
  CHECK(sprout_signal_container(ctr, SIGTERM) == 0, "nothing left to signal");
}

/* Starts a process of our own at exactly `pid` (clone3 with set_tid, root only) that pauses
 * until killed; -1 with errno EEXIST when the pid is taken already. */
static pid_t occupy_pid(pid_t pid) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  args.set_tid = (uint64_t)(uintptr_t)&pid;
  args.set_tid_size = 1;
  long got = syscall(SYS_clone3, &args, sizeof args);
  if (got == 0) {
    for (;;) pause();
  }
  return (pid_t)got;
}

/* Whether pid, a child of ours, is alive: not exited (nothing is reaped). */
static int child_alive(pid_t pid) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  CHECK(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0, "waitid(%d): %s", pid,
        strerror(errno));
  return info.si_pid == 0;
}

/* The promise "a reaped and reused pid is never hit": a tracked process is reaped behind the
 * library's back and a new process takes exactly its pid. sprout_signal and
 * sprout_signal_container must not reach the newcomer (kill(pid) would). */
static void check_a_reused_pid_is_never_signalled(void) {
  need_root();
  int kept = kernel_keeps_exit_status();
  char ctr[64];
  snprintf(ctr, sizeof ctr, "ctr-%d-reused", getpid());
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.container_id = ctr;
  const char *args[] = {"say", "ready", "pause", NULL};
  pid_t newcomer = -1;
  probe p;
  /* Another process may take the pid first (other tests run at once): try again. */
  for (int attempt = 0; attempt < 20 && newcomer < 0; attempt++) {
    p = start(&a, args);
    await_say(p.from_stdout, "ready");
    close(p.to_stdin);
    close(p.from_stdout);
    CHECK(kill(p.pid, SIGKILL) == 0, "kill");
    int status;
    CHECK(waitpid(p.pid, &status, 0) == p.pid, "waitpid");
    newcomer = occupy_pid(p.pid);
    CHECK(newcomer >= 0 || errno == EEXIST, "clone3 with set_tid %d: %s", p.pid, strerror(errno));
    if (newcomer < 0) check_status_of_reaped(p.pid, SIGKILL, kept, "waitpid");
  }
  CHECK(newcomer == p.pid, "no free pid to reuse in 20 attempts");
  CHECK(sprout_signal(p.pid, SIGKILL) == -ESRCH, "sprout_signal reached pid %d", p.pid);
  CHECK(sprout_signal(p.pid, 0) == -ESRCH, "sprout_signal 0 reached pid %d", p.pid);
  CHECK(sprout_signal_container(ctr, SIGKILL) == 0, "sprout_signal_container reached pid %d", p.pid);
  size_t count = 99;
  CHECK(sprout_list(ctr, NULL, 0, &count) == 0 && count == 0, "listed: %zu", count);
  usleep(100 * 1000); /* a SIGKILL sent would have ended it by now */
  CHECK(child_alive(newcomer), "the process that reused pid %d was killed", newcomer);
  /* The status is the tracked process's, not the newcomer's, which sprout never reaps. */
  check_status_of_reaped(p.pid, SIGKILL, kept, "waitpid");
  CHECK(child_alive(newcomer), "the newcomer was reaped or killed by the wait");
  CHECK(kill(newcomer, SIGKILL) == 0, "kill newcomer");
  int status;
  CHECK(waitpid(newcomer, &status, 0) == newcomer && WIFSIGNALED(status), "newcomer status %#x", status);
}

TEST(a_reused_pid_is_never_signalled) { check_a_reused_pid_is_never_signalled(); }

/* Under a seccomp profile that refuses pidfd_send_signal, signals fall back to kill() while the
 * process is an unreaped child, and only then. */
static void check_signals_without_pidfd_send_signal(int errno_) {
  refuse_syscall(SYS_pidfd_send_signal, errno_);
  CHECK(syscall(SYS_pidfd_send_signal, -1, 0, NULL, 0) == -1 && errno == errno_, "not refused");
  char ctr[64];
  snprintf(ctr, sizeof ctr, "ctr-%d-kill", getpid());
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.container_id = ctr;
  const char *args[] = {"say", "ready", "pause", NULL};
  probe p[3];
  for (int i = 0; i < 3; i++) {
    p[i] = start(&a, args);
    await_say(p[i].from_stdout, "ready");
  }
  CHECK(sprout_signal(p[0].pid, 0) == 0, "signal 0");
  CHECK(sprout_signal(p[0].pid, SIGTERM) == 0, "signal SIGTERM");
  sprout_error err;
  int status;
  CHECK_OK(sprout_wait(p[0].pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  CHECK(sprout_signal(p[0].pid, SIGTERM) == -ESRCH, "signal after the wait");
  CHECK(sprout_signal_container(ctr, SIGUSR1) == 2, "signal_container");
  for (int i = 1; i < 3; i++) {
    CHECK_OK(sprout_wait(p[i].pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1, "status %#x", status);
  }
  if (geteuid() == 0) check_a_reused_pid_is_never_signalled();
}

TEST(signals_without_pidfd_send_signal_enosys) { check_signals_without_pidfd_send_signal(ENOSYS); }

TEST(signals_without_pidfd_send_signal_eperm) { check_signals_without_pidfd_send_signal(EPERM); }

int main(void) {
  temp_root_create("core-table");
  RUN(parent_death_signal_kills_the_orphan);
  RUN(parent_death_signal_survives_a_credentials_change);
  RUN(parent_death_signal_with_the_parent_alive_keeps_the_process_running);
  RUN(wait_polls_times_out_and_then_waits_for_the_status);
  RUN(signal_ends_a_process_and_wait_status_may_be_null);
  RUN(pidfd_is_close_on_exec_and_readable_once_the_process_ends);
  RUN(wait_blocks_after_the_caller_made_its_pidfd_non_blocking);
  RUN(release_forgets_the_process_and_the_caller_reaps_it);
  RUN(list_and_signal_by_container);
  RUN(exec_returns_the_status_and_forgets_the_process);
  RUN(children_the_library_did_not_start_are_never_reaped);
  RUN(spawns_failed_or_not_leave_no_fd_and_no_zombie);
  RUN(eight_threads_spawn_and_wait_fifty_times_each);
  RUN(a_caller_that_forked_spawns_in_both_processes_at_once);
  RUN(clone3_missing_falls_back_to_clone);
  RUN(clone3_refused_falls_back_to_clone);
  RUN(a_process_the_caller_reaped_gives_its_status_to_sprout_wait);
  RUN(a_wait_racing_the_callers_waitpid_gets_the_status);
  RUN(sigchld_ignored_exec_and_wait_still_return_the_status);
  RUN(sa_nocldwait_exec_and_wait_still_return_the_status);
  RUN(without_a_kept_status_wait_says_who_reaped_the_process);
  RUN(processes_reaped_behind_the_librarys_back_leave_the_table);
  RUN(signal_container_counts_only_processes_that_are_alive);
  RUN(a_reused_pid_is_never_signalled);
  RUN(signals_without_pidfd_send_signal_enosys);
  RUN(signals_without_pidfd_send_signal_eperm);
  temp_root_remove();
  return summary();
}
