/* Core spawn semantics through the C ABI: versions and names, the exec arguments (argv,
 * environment, working directory, umask), the signal state a process starts with, the size
 * and pointer rules, and large argument vectors. fds: test_core_fds.c; the executable:
 * test_core_exec.c; the process table: test_core_table.c. */
#include "core_util.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>

extern char **environ;

TEST(abi_version_version_and_stage_names) {
  CHECK(SPROUT_ABI_VERSION == 1, "SPROUT_ABI_VERSION %d", SPROUT_ABI_VERSION);
  CHECK(sprout_abi_version() == SPROUT_ABI_VERSION, "sprout_abi_version() %u", sprout_abi_version());
  CHECK(SPROUT_EXEC_NO_NEW_PRIVS == 1u && SPROUT_EXEC_INHERIT_ENV == 2u && SPROUT_EXEC_NO_TTY == 4u,
        "flag values");
  const char *version = sprout_version();
  int major, minor, patch;
  CHECK(version && sscanf(version, "%d.%d.%d", &major, &minor, &patch) == 3, "version \"%s\"",
        version ? version : "(null)");

  static const char *const names[] = {"none",        "args",         "spawn",        "namespaces",
                                      "cgroup",      "fds",          "tty",          "rlimits",
                                      "chdir",       "credentials",  "capabilities", "no_new_privs",
                                      "seccomp",     "exec",         "wait"};
  static const uint32_t stages[] = {
      SPROUT_STAGE_NONE,        SPROUT_STAGE_ARGS,       SPROUT_STAGE_SPAWN,
      SPROUT_STAGE_NAMESPACES,  SPROUT_STAGE_CGROUP,     SPROUT_STAGE_FDS,
      SPROUT_STAGE_TTY,         SPROUT_STAGE_RLIMITS,    SPROUT_STAGE_CHDIR,
      SPROUT_STAGE_CREDENTIALS, SPROUT_STAGE_CAPABILITIES, SPROUT_STAGE_NO_NEW_PRIVS,
      SPROUT_STAGE_SECCOMP,     SPROUT_STAGE_EXEC,       SPROUT_STAGE_WAIT};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    CHECK(stages[i] == i, "stage %s has value %u", names[i], stages[i]);
    const char *name = sprout_stage_name(stages[i]);
    CHECK(name && !strcmp(name, names[i]), "stage %zu is named \"%s\", not \"%s\"", i,
          name ? name : "(null)", names[i]);
  }
  /* Later ABI versions append stages (1.1 did): a number past any of them is unknown. */
  CHECK(!strcmp(sprout_stage_name(1000), "unknown"), "stage 1000");
  CHECK(!strcmp(sprout_stage_name(UINT32_MAX), "unknown"), "stage UINT32_MAX");
}

TEST(exec_args_init_sets_size_umask_and_minus_one_fds_and_zeroes_the_rest) {
  sprout_exec_args a;
  memset(&a, 0xa5, sizeof a);
  sprout_exec_args_init(&a);
  CHECK(a.size == sizeof a, "size %u", a.size);
  CHECK(a.umask == 022, "umask %o", a.umask);
  CHECK(a.exec_fd == -1, "exec_fd %d", a.exec_fd);
  CHECK(a.cgroup_fd == -1, "cgroup_fd %d", a.cgroup_fd);
  CHECK(a.flags == 0 && a.parent_death_signal == 0, "flags %u, parent_death_signal %d", a.flags,
        a.parent_death_signal);
  CHECK(!a.filename && !a.argv && !a.envv && !a.working_directory && !a.credentials &&
            !a.capabilities && !a.limits && !a.namespaces && !a.uid_map && !a.gid_map &&
            !a.seccomp_filter && !a.container_id,
        "a pointer is not NULL");
  CHECK(!a.limits_len && !a.namespaces_len && !a.uid_map_len && !a.gid_map_len &&
            !a.seccomp_filter_len,
        "a length is not 0");
  sprout_exec_args_init(NULL); /* must not crash */
}

TEST(plain_spawn_has_exact_argv_empty_env_root_cwd_umask_0022_and_fds_0_to_2) {
  /* The caller has an environment, a working directory and a umask of its own: none of them
   * may reach the process. */
  CHECK(setenv("SPROUT_CALLER_ONLY", "1", 1) == 0, "setenv");
  CHECK(chdir(temp_root) == 0, "chdir");
  umask(0077);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  char *out = read_report(&p);

  char pid_text[32];
  snprintf(pid_text, sizeof pid_text, "%d", p.pid);
  CHECK(!strcmp(field(out, "pid"), pid_text), "probe pid %s, sprout said %d", field(out, "pid"), p.pid);
  snprintf(pid_text, sizeof pid_text, "%d", getpid());
  CHECK(!strcmp(field(out, "ppid"), pid_text), "probe ppid %s, caller %d", field(out, "ppid"), getpid());
  CHECK(!strcmp(status_of(p.pid, "PPid"), pid_text), "PPid %s", status_of(p.pid, "PPid"));
  CHECK(!strcmp(status_of(p.pid, "Umask"), "0022"), "Umask %s", status_of(p.pid, "Umask"));
  CHECK(!strcmp(field(out, "umask"), "0022"), "umask=%s", field(out, "umask"));
  const char *cwd = proc_link(p.pid, "cwd");
  CHECK(!strcmp(cwd, "/"), "/proc/PID/cwd -> %s", cwd);
  CHECK(!strcmp(field(out, "cwd"), "/"), "cwd=%s", field(out, "cwd"));

  const char *argv[] = {probe_path(), "report", "wait", NULL};
  check_proc_strings(p.pid, "cmdline", argv);
  const char *no_env[] = {NULL};
  check_proc_strings(p.pid, "environ", no_env);
  CHECK(count_lines(out, "env=") == 0, "environment is not empty:\n%s", out);
  CHECK(count_lines(out, "arg=") == 3, "argc is not 3:\n%s", out);

  CHECK(!strcmp(proc_fd_list(p.pid), "0 1 2"), "fds %s", proc_fd_list(p.pid));
  CHECK(count_lines(out, "fd=") == 3, "fds other than 0-2:\n%s", out);
  int status = finish_probe(&p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

TEST(envv_is_the_environment_exactly) {
  const char *envv[] = {"A=1", "B=two words", "EMPTY=", "NO_EQUALS_SIGN", "A=again", "=x", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.envv = envv;
  const char *args[] = {"say", "ready", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  await_say(p.from_stdout, "ready");
  check_proc_strings(p.pid, "environ", envv);
  finish_probe(&p);
}

TEST(inherit_env_with_null_envv_passes_the_callers_environ) {
  char name[64];
  snprintf(name, sizeof name, "SPROUT_UNIQUE_%d", getpid());
  CHECK(setenv(name, "inherited value", 1) == 0, "setenv");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_INHERIT_ENV;
  const char *args[] = {"say", "ready", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  await_say(p.from_stdout, "ready");
  check_proc_strings(p.pid, "environ", (const char *const *)environ);
  finish_probe(&p);
}

TEST(inherit_env_with_an_envv_passes_the_envv) {
  CHECK(setenv("SPROUT_CALLER_ONLY", "1", 1) == 0, "setenv");
  const char *envv[] = {"ONLY=this", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_INHERIT_ENV;
  a.envv = envv;
  const char *args[] = {"say", "ready", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  await_say(p.from_stdout, "ready");
  check_proc_strings(p.pid, "environ", envv);
  finish_probe(&p);
}

TEST(working_directory_absolute_and_relative_to_the_callers) {
  char *dir = temp_dir("absolute");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.working_directory = dir;
  const char *args[] = {"report", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  char *out = read_report(&p);
  CHECK(!strcmp(proc_link(p.pid, "cwd"), dir), "cwd %s, not %s", proc_link(p.pid, "cwd"), dir);
  CHECK(!strcmp(field(out, "cwd"), dir), "probe cwd %s", field(out, "cwd"));
  finish_probe(&p);

  char *sub = temp_dir("relative");
  free(temp_dir("relative/inner"));
  CHECK(chdir(sub) == 0, "chdir");
  a.working_directory = "inner";
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  out = read_report(&p);
  char expected[PATH_MAX];
  snprintf(expected, sizeof expected, "%s/inner", sub);
  CHECK(!strcmp(proc_link(p.pid, "cwd"), expected), "cwd %s, not %s", proc_link(p.pid, "cwd"), expected);
  finish_probe(&p);
}

/* Joining a mount namespace moves the process's root and working directory to that
 * namespace's root: a relative working_directory is resolved from there, inside the joined
 * namespace, never from the caller's working directory or through anything of the caller's
 * mount namespace. The namespace here (held by a helper) has a tmpfs the caller's does not. */
TEST(a_relative_working_directory_with_a_joined_mount_namespace_is_relative_to_its_root) {
  need_root();
  char *mnt = temp_dir("mnt");
  int ready[2];
  CHECK(pipe2(ready, O_CLOEXEC) == 0, "pipe2");
  pid_t holder = fork();
  CHECK(holder >= 0, "fork");
  if (holder == 0) {
    char marker[PATH_MAX];
    snprintf(marker, sizeof marker, "%s/only-in-the-joined-namespace", mnt);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("none", mnt, "tmpfs", 0, NULL) != 0 || mkdir(marker, 0755) != 0)
      _exit(1);
    CHECK(write(ready[1], "", 1) == 1, "write");
    pause();
    _exit(0);
  }
  char byte;
  CHECK(read(ready[0], &byte, 1) == 1, "the holder could not set up its mount namespace");
  char ns_path[64];
  snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/mnt", (int)holder);
  int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
  CHECK(ns >= 0, "open %s: %s", ns_path, strerror(errno));

  /* The caller works elsewhere, where the relative path does not exist. */
  char *elsewhere = temp_dir("elsewhere");
  CHECK(chdir(elsewhere) == 0, "chdir");
  char relative[PATH_MAX];
  snprintf(relative, sizeof relative, "%s/only-in-the-joined-namespace", mnt + 1);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.working_directory = relative;
  sprout_namespace join = {CLONE_NEWNS, ns};
  a.namespaces = &join;
  a.namespaces_len = 1;
  const char *args[] = {"report", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  char *out = read_report(&p);
  char expected[PATH_MAX + 8];
  snprintf(expected, sizeof expected, "/%s", relative);
  CHECK(!strcmp(field(out, "cwd"), expected), "probe cwd %s, not %s", field(out, "cwd"), expected);
  finish_probe(&p);

  /* Without the join the same path is relative to the caller's working directory. */
  a.namespaces = NULL;
  a.namespaces_len = 0;
  CHECK_FAILS(start_probe(&a, args, &p, &err), &err, ENOENT, SPROUT_STAGE_CHDIR);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
}

TEST(missing_working_directory_fails_in_chdir_naming_it) {
  char *missing = temp_path("no-such-directory");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.working_directory = missing;
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  CHECK_FAILS(start_probe(&a, args, &p, &err), &err, ENOENT, SPROUT_STAGE_CHDIR);
  char expected[PATH_MAX + 64];
  snprintf(expected, sizeof expected, "chdir: %s: No such file or directory", missing);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);

  char *file = temp_path("a-file");
  write_file(file, "x", 1, 0644);
  a.working_directory = file;
  CHECK_FAILS(start_probe(&a, args, &p, &err), &err, ENOTDIR, SPROUT_STAGE_CHDIR);
  CHECK_MESSAGE_HAS(&err, file);
}

TEST(umask_is_always_applied) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "wait", NULL};
  static const struct {
    mode_t caller;
    uint32_t asked;
    const char *shown;
  } cases[] = {{022, 077, "0077"}, {077, 0, "0000"}, {0, 022, "0022"}, {0, 0777, "0777"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    umask(cases[i].caller);
    a.umask = cases[i].asked;
    probe p;
    sprout_error err;
    CHECK_OK(start_probe(&a, args, &p, &err), &err);
    char *out = read_report(&p);
    CHECK(!strcmp(status_of(p.pid, "Umask"), cases[i].shown), "asked %o: Umask %s",
          cases[i].asked, status_of(p.pid, "Umask"));
    CHECK(!strcmp(field(out, "umask"), cases[i].shown), "asked %o: umask=%s", cases[i].asked,
          field(out, "umask"));
    finish_probe(&p);
    CHECK(umask(0) == cases[i].caller, "the caller's umask changed");
  }
}

static void on_signal(int sig) { (void)sig; }

TEST(the_process_starts_with_no_blocked_ignored_caught_or_pending_signal) {
  /* The caller blocks, ignores and catches signals, and has one pending. */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGRTMIN + 3);
  CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0, "sigprocmask");
  CHECK(raise(SIGUSR1) == 0, "raise");
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  struct sigaction handler;
  memset(&handler, 0, sizeof handler);
  handler.sa_handler = on_signal;
  static const int caught[] = {SIGUSR2, SIGHUP, SIGWINCH, SIGURG, SIGTSTP};
  for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
    CHECK(sigaction(caught[i], &handler, NULL) == 0, "sigaction");
  handler.sa_handler = SIG_IGN;
  CHECK(sigaction(SIGRTMIN + 5, &handler, NULL) == 0, "sigaction");
  /* The caller's state as the kernel shows it, to compare after the spawn. */
  char before[4][32];
  static const char *const keys[] = {"SigBlk", "SigIgn", "SigCgt", "SigPnd"};
  for (int i = 0; i < 4; i++) {
    snprintf(before[i], sizeof before[i], "%s", status_of(getpid(), keys[i]));
    CHECK(strcmp(before[i], "0000000000000000") != 0 || i == 3, "the caller's %s is empty", keys[i]);
  }

  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  char *out = read_report(&p);
  static const char *const child_keys[] = {"SigBlk", "SigIgn", "SigCgt", "SigPnd", "ShdPnd"};
  for (int i = 0; i < 5; i++) {
    CHECK(!strcmp(status_of(p.pid, child_keys[i]), "0000000000000000"), "%s %s", child_keys[i],
          status_of(p.pid, child_keys[i]));
    char key[32];
    snprintf(key, sizeof key, "status=%s", child_keys[i]);
    CHECK(!strcmp(field(out, key), "0000000000000000"), "probe %s %s", key, field(out, key));
  }
  finish_probe(&p);

  for (int i = 0; i < 4; i++)
    CHECK(!strcmp(status_of(getpid(), keys[i]), before[i]), "the caller's %s went from %s to %s",
          keys[i], before[i], status_of(getpid(), keys[i]));
  sigset_t mask, pending;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0 && sigpending(&pending) == 0, "sigprocmask");
  for (int sig = 1; sig < NSIG; sig++)
    CHECK(sigismember(&mask, sig) == sigismember(&block, sig), "signal %d's blocking changed", sig);
  CHECK(sigismember(&pending, SIGUSR1), "the caller's pending SIGUSR1 is gone");
  struct sigaction now;
  CHECK(sigaction(SIGUSR2, NULL, &now) == 0 && now.sa_handler == on_signal, "SIGUSR2 handler");
  CHECK(sigaction(SIGINT, NULL, &now) == 0 && now.sa_handler == SIG_IGN, "SIGINT disposition");
}

/* The kernel's struct sigaction, for signals 32 and 33, which glibc's sigaction refuses. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags, restorer;
  uint64_t mask;
};

/* Every signal ignored (odd numbers) or caught (even ones) by the caller, or all ignored; the
 * program must start with none ignored and none caught. With clone3, CLONE_CLEAR_SIGHAND
 * resets the caught ones in the kernel and the child looks for the ignored ones; without it,
 * the child resets every one itself. Not SIGKILL and SIGSTOP (the kernel refuses), SIGALRM
 * (the harness's timeout); SIGCHLD only caught (ignored, the kernel would reap the probe
 * itself); 32 and 33, glibc's own, only ignored, set with the raw system call (a handler
 * needs glibc's restorer). */
static void check_every_caller_disposition_is_reset(void) {
  for (int round = 0; round < 2; round++) {
    uint64_t ignored = 0, caught = 0;
    for (int sig = 1; sig <= 64; sig++) {
      if (sig == SIGKILL || sig == SIGSTOP || sig == SIGALRM) continue;
      if (sig == 32 || sig == 33) {
        struct kernel_sigaction act = {SIG_IGN, 0, 0, 0};
        CHECK(syscall(SYS_rt_sigaction, sig, &act, NULL, 8) == 0, "rt_sigaction %d: %s", sig,
              strerror(errno));
        ignored |= 1ull << (sig - 1);
        continue;
      }
      int ignore = (round == 0 || sig % 2 == 1) && sig != SIGCHLD;
      struct sigaction act;
      memset(&act, 0, sizeof act);
      act.sa_handler = ignore ? SIG_IGN : on_signal;
      CHECK(sigaction(sig, &act, NULL) == 0, "sigaction %d: %s", sig, strerror(errno));
      *(ignore ? &ignored : &caught) |= 1ull << (sig - 1);
    }
    CHECK(strtoull(status_of(getpid(), "SigIgn"), NULL, 16) == ignored, "the caller's SigIgn %s",
          status_of(getpid(), "SigIgn"));
    CHECK(strtoull(status_of(getpid(), "SigCgt"), NULL, 16) == caught, "the caller's SigCgt %s",
          status_of(getpid(), "SigCgt"));
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *args[] = {"wait", NULL};
    probe p;
    sprout_error err;
    CHECK_OK(start_probe(&a, args, &p, &err), &err);
    CHECK(!strcmp(status_of(p.pid, "SigIgn"), "0000000000000000"), "round %d: SigIgn %s", round,
          status_of(p.pid, "SigIgn"));
    CHECK(!strcmp(status_of(p.pid, "SigCgt"), "0000000000000000"), "round %d: SigCgt %s", round,
          status_of(p.pid, "SigCgt"));
    finish_probe(&p);
  }
}

TEST(every_signal_the_caller_ignores_or_catches_is_reset) {
  check_every_caller_disposition_is_reset();
}

TEST(every_signal_the_caller_ignores_or_catches_is_reset_without_clone3) {
  refuse_clone3(ENOSYS);
  check_every_caller_disposition_is_reset();
}

/* Set by the caller's SIGURG handler when it runs in any process but the caller: in a CLONE_VM
 * child between clone and execve, whose writes land in the caller's memory. */
static volatile sig_atomic_t handler_ran_elsewhere, handler_ran;
static pid_t caller_pid;
static volatile int stop_signalling;

static void on_urg(int sig) {
  (void)sig;
  int saved = errno;
  if (syscall(SYS_getpid) != caller_pid) FLAG_SET(handler_ran_elsewhere, 1);
  FLAG_SET(handler_ran, 1);
  errno = saved;
}

/* Signals the whole process group, spawned children included, until told to stop. SIGURG is
 * ignored by default, so the probes never die of it. */
static void *signal_group(void *unused) {
  (void)unused;
  while (!FLAG_GET(stop_signalling)) {
    kill(0, SIGURG);
    sched_yield();
  }
  return NULL;
}

static void check_no_handler_runs_in_the_child(void) {
  caller_pid = getpid();
  /* The harness runs each test as the leader of its own session, so its own process group. */
  CHECK(getpgrp() == getpid(), "the test does not lead its own process group");
  struct sigaction handler;
  memset(&handler, 0, sizeof handler);
  handler.sa_handler = on_urg;
  CHECK(sigaction(SIGURG, &handler, NULL) == 0, "sigaction");
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, signal_group, NULL) == 0, "pthread_create");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  for (int i = 0; i < 500 && !FLAG_GET(handler_ran_elsewhere); i++) {
    int status;
    sprout_error err;
    CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  }
  FLAG_SET(stop_signalling, 1);
  pthread_join(thread, NULL);
  CHECK(FLAG_GET(handler_ran), "the handler never ran in the caller: the test proves nothing");
  CHECK(!FLAG_GET(handler_ran_elsewhere), "the caller's handler ran in a spawned child");
}

TEST(no_caller_signal_handler_runs_in_the_child) { check_no_handler_runs_in_the_child(); }

TEST(no_caller_signal_handler_runs_in_the_child_of_plain_clone) {
  /* Without clone3 there is no CLONE_CLEAR_SIGHAND: the child starts with the caller's
   * handlers and must reset them before it lets a signal in. Threads must exist before the
   * filter: glibc's pthread_create uses clone3 too. */
  refuse_clone3(ENOSYS);
  check_no_handler_runs_in_the_child();
}

/* The exec args followed by bytes of a later ABI version. The bytes set below lie past the
 * struct of any library version this test may run against (ABI 1.1 knows 96 bytes more than
 * 1.0, which a 1.0-compiled run of this test sends as "tail"). */
struct longer_args {
  sprout_exec_args a;
  unsigned char tail[1024];
};

TEST(size_rule_smaller_larger_with_zero_tail_and_nonzero_tail) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  struct longer_args l;
  memset(&l, 0, sizeof l);
  sprout_exec_args_init(&l.a);
  l.a.argv = argv;
  sprout_process proc;
  sprout_error err;

  /* Below 1.0's size, whatever the header compiled (ABI 1.1 reads any size from 1.0's up). */
  l.a.size = offsetof(sprout_exec_args, container_id);
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  l.a.size = 0;
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);

  l.a.size = sizeof l;
  int status = -1;
  CHECK_OK(sprout_exec(&l.a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

  l.tail[sizeof l.tail - 1] = 1;
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
  l.tail[sizeof l.tail - 1] = 0;
  l.tail[sizeof l.tail / 2] = 0x80;
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
}

/* The largest size accepted is a page, as for clone3: 4096 bytes with a zero tail run, 4097
 * are -E2BIG before any process exists, whatever the tail holds. */
TEST(size_rule_caps_the_size_at_4096_bytes) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_exec_args *a = calloc(1, 8192);
  CHECK(a != NULL, "calloc");
  sprout_exec_args_init(a);
  a->argv = argv;
  sprout_process proc;
  sprout_error err;
  int status = -1;
  a->size = 4096;
  CHECK_OK(sprout_exec(a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  a->size = 4097;
  CHECK_FAILS(sprout_exec_async(a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "args.size 4097");
  a->size = UINT32_MAX;
  CHECK_FAILS(sprout_exec_async(a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child was started");
  free(a);
}

TEST(unknown_flags_and_null_pointers_are_einval_in_args) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  int status;
  a.flags = 1u << 31;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.flags = 1u << 30;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.flags = 0;

  CHECK_FAILS(sprout_exec_async(NULL, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_FAILS(sprout_exec(NULL, NULL, 0, &status, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, NULL, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.argv = NULL;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  const char *empty[] = {NULL};
  a.argv = empty;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  /* fds NULL with a length is not "no fds". */
  a.argv = argv;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 3, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  /* No process was started by any of these. */
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child exists");
}

TEST(err_may_be_null_and_is_cleared_on_success) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_process proc;
  CHECK(sprout_exec_async(&a, NULL, 0, &proc, NULL) == -EINVAL, "argv NULL, err NULL");
  a.argv = argv;
  CHECK(sprout_exec_async(&a, NULL, 0, &proc, NULL) == 0, "a spawn with err NULL");
  CHECK(sprout_wait(proc.pid, -1, NULL, NULL) == 0, "sprout_wait with NULLs");

  sprout_error err;
  memset(&err, 0x7f, sizeof err);
  err.message[sizeof err.message - 1] = 0;
  int status;
  CHECK(sprout_exec(&a, NULL, 0, &status, &err) == 0, "sprout_exec");
  CHECK(err.code == 0 && err.stage == SPROUT_STAGE_NONE && err.message[0] == 0,
        "err not cleared on success: %d %u %s", err.code, err.stage, err.message);
}

TEST(misaligned_err_and_out_are_errors_not_crashes) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  union {
    sprout_error err;
    sprout_process proc;
    unsigned char bytes[sizeof(sprout_error) + 16];
  } buffer;
  memset(&buffer, 0x5a, sizeof buffer);
  sprout_error *bad_err = (sprout_error *)(void *)(buffer.bytes + 1);
  sprout_process *bad_out = (sprout_process *)(void *)(buffer.bytes + 1);
  sprout_process proc;
  CHECK(sprout_exec_async(&a, NULL, 0, &proc, bad_err) == -EINVAL, "misaligned err");
  sprout_error err;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, bad_out, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  for (size_t i = 0; i < sizeof buffer.bytes; i++)
    CHECK(buffer.bytes[i] == 0x5a, "byte %zu of the misaligned buffer was written", i);
  int32_t *bad_status = (int32_t *)(void *)(buffer.bytes + 1);
  CHECK(sprout_exec(&a, NULL, 0, bad_status, &err) == -EINVAL, "misaligned wait_status");
  sprout_exec_args *bad_args = (sprout_exec_args *)(void *)(buffer.bytes + 1);
  CHECK(sprout_exec_async(bad_args, NULL, 0, &proc, &err) == -EINVAL, "misaligned args");
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child was started");
}

TEST(terminal_stdio_with_no_tty_runs_in_the_callers_session) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) SKIP("posix_openpt: %s", strerror(errno));
  CHECK(grantpt(master) == 0 && unlockpt(master) == 0, "grantpt/unlockpt");
  char *name = ptsname(master);
  CHECK(name != NULL, "ptsname");
  char slave_name[64];
  snprintf(slave_name, sizeof slave_name, "%s", name);
  int slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  CHECK(slave >= 0, "open %s: %s", slave_name, strerror(errno));
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_TTY;
  const char *args[] = {"report", "pause", NULL};
  int32_t fds[] = {slave, out[1], 2};
  int pid;
  sprout_error err;
  CHECK_OK(spawn_probe(&a, args, fds, 3, &pid, &err), &err);
  close(out[1]);
  char *report = read_until_end(out[0]);
  char target[PATH_MAX];
  CHECK(!strcmp(proc_fd_target(pid, 0, target, sizeof target), slave_name), "fd 0 -> %s", target);
  char sid[32];
  snprintf(sid, sizeof sid, "%d", getsid(0));
  CHECK(!strcmp(field(report, "sid"), sid), "sid %s, caller's %s", field(report, "sid"), sid);
  kill_probe(pid);
}

TEST(a_thousand_long_arguments_and_variables_arrive_intact) {
  enum { COUNT = 1000, LENGTH = 250 };
  const char **argv = calloc(COUNT + 5, sizeof *argv);
  const char **envv = calloc(COUNT + 1, sizeof *envv);
  CHECK(argv && envv, "calloc");
  argv[0] = probe_path();
  argv[1] = "say";
  argv[2] = "ready";
  argv[3] = "wait";
  for (int i = 0; i < COUNT; i++) {
    char *arg = malloc(LENGTH + 1), *var = malloc(LENGTH + 1);
    CHECK(arg && var, "malloc");
    for (int j = 0; j < LENGTH; j++) {
      arg[j] = (char)('a' + (i * 7 + j) % 26);
      var[j] = (char)('A' + (i * 3 + j) % 26);
    }
    arg[LENGTH] = var[LENGTH] = 0;
    snprintf(var, 16, "V%04d=", i);
    var[strlen(var)] = 'x'; /* snprintf's NUL inside the value: overwrite it */
    argv[4 + i] = arg;
    envv[i] = var;
  }
  int in[2], out[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0, "pipe2");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  a.envv = envv;
  int32_t fds[] = {in[0], out[1], 2};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  await_say(out[0], "ready");
  check_proc_strings(proc.pid, "cmdline", argv);
  check_proc_strings(proc.pid, "environ", envv);
  kill_probe(proc.pid);
}

int main(void) {
  temp_root_create("core");
  RUN(abi_version_version_and_stage_names);
  RUN(exec_args_init_sets_size_umask_and_minus_one_fds_and_zeroes_the_rest);
  RUN(plain_spawn_has_exact_argv_empty_env_root_cwd_umask_0022_and_fds_0_to_2);
  RUN(envv_is_the_environment_exactly);
  RUN(inherit_env_with_null_envv_passes_the_callers_environ);
  RUN(inherit_env_with_an_envv_passes_the_envv);
  RUN(working_directory_absolute_and_relative_to_the_callers);
  RUN(a_relative_working_directory_with_a_joined_mount_namespace_is_relative_to_its_root);
  RUN(missing_working_directory_fails_in_chdir_naming_it);
  RUN(umask_is_always_applied);
  RUN(the_process_starts_with_no_blocked_ignored_caught_or_pending_signal);
  RUN(every_signal_the_caller_ignores_or_catches_is_reset);
  RUN(every_signal_the_caller_ignores_or_catches_is_reset_without_clone3);
  RUN(no_caller_signal_handler_runs_in_the_child);
  RUN(no_caller_signal_handler_runs_in_the_child_of_plain_clone);
  RUN(size_rule_smaller_larger_with_zero_tail_and_nonzero_tail);
  RUN(size_rule_caps_the_size_at_4096_bytes);
  RUN(unknown_flags_and_null_pointers_are_einval_in_args);
  RUN(err_may_be_null_and_is_cleared_on_success);
  RUN(misaligned_err_and_out_are_errors_not_crashes);
  RUN(terminal_stdio_with_no_tty_runs_in_the_callers_session);
  RUN(a_thousand_long_arguments_and_variables_arrive_intact);
  temp_root_remove();
  return summary();
}
