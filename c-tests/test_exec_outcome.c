/* How the caller learns the way a child ended between clone and the program: a child whose
 * exit the caller's own seccomp filter refuses still dies (and the call returns its recorded
 * failure), a child killed at execve is a failure at stage EXEC, not a started process. Each
 * case checks from outside that nothing is left behind: no child process, zombie or running. */
#include "core_util.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/resource.h>
#include <time.h>

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* A filter whose action for each of calls[0..n) is `action`, everything else allowed. Written
 * into out (room for n + 5 instructions); returns its length. */
static size_t filter_for(struct sock_filter *out, const long *calls, size_t n, uint32_t action) {
  size_t len = 0;
  out[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  out[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 1, 0);
  out[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  out[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (size_t i = 0; i < n; i++)
    out[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)calls[i],
                                              (uint8_t)(n - i), 0);
  out[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  out[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
  return len;
}

/* The caller has no child left: none running, none a zombie. */
static void check_no_child_left(const char *what) {
  int status;
  pid_t pid = waitpid(-1, &status, WNOHANG);
  CHECK(pid < 0 && errno == ECHILD, "%s: a child is left behind (waitpid: %d, status %#x)", what,
        (int)pid, status);
}

/* No core file of the caller's memory from a child that dies by a signal. */
static void no_core_dumps(void) {
  struct rlimit none = {0, 0};
  CHECK(setrlimit(RLIMIT_CORE, &none) == 0, "setrlimit: %s", strerror(errno));
}

/*
 * Runs body in a helper process with a process group of its own and fails unless it ends,
 * successfully, within `seconds` (times SPROUT_TEST_TIME_SCALE). A spawn that hangs cannot be
 * ended by an alarm: the calling thread blocks every signal until its child has exec'd or died.
 * On timeout the helper's group (the helper and the child that hangs it) is killed.
 */
static void run_within(int seconds, void (*body)(void)) {
  pid_t pid = fork();
  CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    body();
    _exit(0);
  }
  setpgid(pid, pid);
  unsigned limit = test_seconds((unsigned)seconds);
  double deadline = now_seconds() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_seconds() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      CHECK(0, "the spawns did not return within %u s: a child hangs its caller", limit);
    }
    usleep(10000);
  }
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the helper ended with status %#x", status);
}

/* What the helper of a refused-exit case refuses: with all_exits, exit and kill as well as
 * exit_group; the spawn flags. */
static int all_exits;
static uint32_t spawn_flags;

/*
 * A filter refuses execve and the child's ways out (exit_group; with all_exits also exit and
 * kill) with EPERM. Without the fix the child spins for ever after the refused exit_group
 * while its caller waits for it in CLONE_VFORK.
 */
static void spawn_with_exits_refused(void) {
  long calls[] = {SYS_execve, SYS_exit_group, SYS_exit, SYS_kill};
  struct sock_filter filter[16];
  size_t len = filter_for(filter, calls, all_exits ? 4 : 2, SECCOMP_RET_ERRNO | EPERM);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = spawn_flags;
  a.seccomp_filter = filter;
  a.seccomp_filter_len = len;
  const char *args[] = {"exit", "0", NULL};
  int32_t fds[] = {0, 1, 2};
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "exec: %s: Operation not permitted", probe_path());
  for (int round = 0; round < 20; round++) {
    int pid = -1;
    sprout_error err;
    CHECK_FAILS(spawn_probe(&a, args, fds, 3, &pid, &err), &err, EPERM, SPROUT_STAGE_EXEC);
    CHECK(!strcmp(err.message, want), "message \"%s\", not \"%s\"", err.message, want);
    check_no_child_left("after the failed spawn");
  }
}

static void check_refused_exit_still_ends_the_child(int all, uint32_t flags) {
  need_root(); /* without no_new_privs the filter needs CAP_SYS_ADMIN */
  no_core_dumps();
  all_exits = all;
  spawn_flags = flags;
  run_within(10, spawn_with_exits_refused);
}

TEST(exit_group_refused_the_child_still_exits) {
  check_refused_exit_still_ends_the_child(0, SPROUT_EXEC_NO_NEW_PRIVS);
}

TEST(every_exit_refused_the_child_still_dies) {
  check_refused_exit_still_ends_the_child(1, SPROUT_EXEC_NO_NEW_PRIVS);
}

TEST(every_exit_refused_by_a_filter_installed_before_the_credentials) {
  check_refused_exit_still_ends_the_child(1, 0);
}

/* --- killed at execve ------------------------------------------------------------------ */

/*
 * Spawns the probe ("exit 0") under a filter whose action for execve and execveat is `action`
 * and checks that the call fails at stage EXEC with -EINTR and a message that says the child
 * was killed by `signal_name` in execve, before the program ran, naming `subject` (NULL: the
 * probe's path); that no child is left; and that the caller's own name is unchanged. Many
 * rounds: the parent goes on while the killed child may still be on its way out.
 */
static void check_killed_at_exec(uint32_t action, uint32_t flags, int exec_fd, const char *subject,
                                 const char *signal_name) {
  no_core_dumps();
  long calls[] = {SYS_execve, SYS_execveat};
  struct sock_filter filter[16];
  size_t len = filter_for(filter, calls, 2, action);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = flags;
  a.seccomp_filter = filter;
  a.seccomp_filter_len = len;
  a.exec_fd = exec_fd;
  const char *args[] = {"exit", "0", NULL};
  int32_t fds[] = {0, 1, 2};
  char want[PATH_MAX + 200];
  snprintf(want, sizeof want, "exec: %s: the child was killed by %s in execve, before the program ran",
           subject ? subject : probe_path(), signal_name);
  char own_name[16] = "";
  CHECK(prctl(PR_GET_NAME, own_name) == 0, "PR_GET_NAME");
  for (int round = 0; round < 50; round++) {
    int pid = -1;
    sprout_error err;
    CHECK_FAILS(spawn_probe(&a, args, fds, 3, &pid, &err), &err, EINTR, SPROUT_STAGE_EXEC);
    CHECK(!strncmp(err.message, want, strlen(want)), "round %d: message \"%s\", not \"%s ...\"",
          round, err.message, want);
    check_no_child_left("after the failed spawn");
  }
  char name_after[16] = "";
  CHECK(prctl(PR_GET_NAME, name_after) == 0 && !strcmp(own_name, name_after),
        "the caller's name changed from \"%s\" to \"%s\"", own_name, name_after);
}

TEST(a_filter_killing_execve_is_a_failure_at_exec) {
  check_killed_at_exec(SECCOMP_RET_KILL_PROCESS, SPROUT_EXEC_NO_NEW_PRIVS, -1, NULL, "SIGSYS (signal 31)");
  check_killed_at_exec(SECCOMP_RET_KILL_THREAD, SPROUT_EXEC_NO_NEW_PRIVS, -1, NULL, "SIGSYS (signal 31)");
  /* TRAP raises SIGSYS, at SIG_DFL in the child. */
  check_killed_at_exec(SECCOMP_RET_TRAP, SPROUT_EXEC_NO_NEW_PRIVS, -1, NULL, "SIGSYS (signal 31)");
}

TEST(a_filter_installed_before_the_credentials_killing_execve_is_a_failure_at_exec) {
  need_root(); /* without no_new_privs the filter needs CAP_SYS_ADMIN */
  check_killed_at_exec(SECCOMP_RET_KILL_PROCESS, 0, -1, NULL, "SIGSYS (signal 31)");
}

TEST(a_filter_killing_execveat_of_exec_fd_is_a_failure_at_exec) {
  int fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open probe: %s", strerror(errno));
  char subject[32];
  snprintf(subject, sizeof subject, "exec_fd %d", fd);
  check_killed_at_exec(SECCOMP_RET_KILL_PROCESS, SPROUT_EXEC_NO_NEW_PRIVS, fd, subject,
                       "SIGSYS (signal 31)");
}

TEST(a_program_the_filter_kills_after_it_ran_is_started) {
  /* The probe runs, then its getppid is killed: that process ran its program, so the spawn
   * succeeds and the wait status tells the rest. */
  no_core_dumps();
  long calls[] = {SYS_getppid};
  struct sock_filter filter[16];
  size_t len = filter_for(filter, calls, 1, SECCOMP_RET_KILL_PROCESS);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a.seccomp_filter = filter;
  a.seccomp_filter_len = len;
  const char *args[] = {"try-getppid", NULL};
  int32_t fds[] = {0, 1, 2};
  for (int round = 0; round < 50; round++) {
    int pid = -1;
    sprout_error err;
    CHECK_OK(spawn_probe(&a, args, fds, 3, &pid, &err), &err);
    int status = -1;
    CHECK_OK(sprout_wait(pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "round %d: status %#x", round, status);
  }
}

/* --- the signal steps ------------------------------------------------------------------- */

TEST(a_refused_signal_mask_names_the_mask) {
  /* Installed before the credentials (no no_new_privs), the filter also sees the child's own
   * last rt_sigprocmask, which it refuses: the message used to be "spawn: Function not
   * implemented". */
  need_root();
  long calls[] = {SYS_rt_sigprocmask};
  struct sock_filter filter[16];
  size_t len = filter_for(filter, calls, 1, SECCOMP_RET_ERRNO | ENOSYS);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.seccomp_filter = filter;
  a.seccomp_filter_len = len;
  const char *args[] = {"exit", "0", NULL};
  int pid;
  sprout_error err;
  CHECK_FAILS(spawn_probe(&a, args, NULL, 0, &pid, &err), &err, ENOSYS, SPROUT_STAGE_SPAWN);
  CHECK(!strcmp(err.message, "spawn: emptying the signal mask (rt_sigprocmask): Function not implemented"),
        "message \"%s\"", err.message);
  check_no_child_left("after the failed spawn");
}

TEST(a_signal_the_child_cannot_reset_fails_the_spawn_naming_it) {
  /* This process refuses rt_sigaction for SIGUSR1 (and so does the child it starts): left
   * alone, the program would inherit whatever the caller had for it. */
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGUSR1, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"exit", "0", NULL};
  int pid;
  sprout_error err;
  CHECK_FAILS(spawn_probe(&a, args, NULL, 0, &pid, &err), &err, EIO, SPROUT_STAGE_SPAWN);
  char want[128];
  snprintf(want, sizeof want, "spawn: resetting signal %d to SIG_DFL (rt_sigaction): Input/output error",
           SIGUSR1);
  CHECK(!strcmp(err.message, want), "message \"%s\", not \"%s\"", err.message, want);
  check_no_child_left("after the failed spawn");
}

int main(void) {
  RUN(exit_group_refused_the_child_still_exits);
  RUN(every_exit_refused_the_child_still_dies);
  RUN(every_exit_refused_by_a_filter_installed_before_the_credentials);
  RUN(a_filter_killing_execve_is_a_failure_at_exec);
  RUN(a_filter_installed_before_the_credentials_killing_execve_is_a_failure_at_exec);
  RUN(a_filter_killing_execveat_of_exec_fd_is_a_failure_at_exec);
  RUN(a_program_the_filter_kills_after_it_ran_is_started);
  RUN(a_refused_signal_mask_names_the_mask);
  RUN(a_signal_the_child_cannot_reset_fails_the_spawn_naming_it);
  return summary();
}
