/*
 * ABI 1.1's signal and umask properties, seen from outside (/proc/PID/status SigBlk, SigIgn,
 * SigCgt, Umask of the probe while it waits): the program's signal mask, keeping the caller's
 * ignored signals except a given set, keeping the caller's umask, and their refusals.
 */
#include <stddef.h>

#include "core_util.h"

#define BIT(sig) (1ull << ((sig) - 1))

/* Starts the probe in "wait" under a, returns the probe; the caller reads /proc and finishes. */
static probe waiting_probe(sprout_exec_args *a) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  return p;
}

/* A seccomp filter for this process (this test's), which its spawns inherit. */
static void install_filter(struct sock_filter *filter, size_t len) {
  struct sock_fprog prog = {(unsigned short)len, filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs");
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
}

static unsigned long long status_hex(int pid, const char *key) {
  return strtoull(status_of(pid, key), NULL, 16);
}

TEST(sigmask_is_the_programs_mask_and_zero_is_empty) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p = waiting_probe(&a);
  CHECK(status_hex(p.pid, "SigBlk") == 0, "SigBlk %s without sigmask", status_of(p.pid, "SigBlk"));
  finish_probe(&p);

  a.sigmask = BIT(SIGUSR1) | BIT(SIGTERM) | BIT(SIGCHLD) | BIT(40) | BIT(64);
  p = waiting_probe(&a);
  CHECK(status_hex(p.pid, "SigBlk") == a.sigmask, "SigBlk %s, asked %llx", status_of(p.pid, "SigBlk"),
        (unsigned long long)a.sigmask);
  CHECK(status_hex(p.pid, "SigIgn") == 0 && status_hex(p.pid, "SigCgt") == 0, "dispositions");
  finish_probe(&p);
}

TEST(sigmask_with_an_unblockable_signal_is_einval) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  a.sigmask = BIT(SIGUSR1) | BIT(SIGKILL);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "sigmask: SIGKILL (9) cannot be blocked");
  a.sigmask = BIT(SIGSTOP);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "SIGSTOP (19)");
}

static void on_usr1(int sig) { (void)sig; }

/* The caller ignores SIGHUP, SIGPIPE, SIGUSR2 and signal 40, and catches SIGUSR1. */
static void caller_dispositions(void) {
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);
  signal(40, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
}

TEST(without_the_flag_every_signal_goes_back_to_default) {
  caller_dispositions();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p = waiting_probe(&a);
  CHECK(status_hex(p.pid, "SigIgn") == 0, "SigIgn %s", status_of(p.pid, "SigIgn"));
  CHECK(status_hex(p.pid, "SigCgt") == 0, "SigCgt %s", status_of(p.pid, "SigCgt"));
  finish_probe(&p);
}

TEST(keep_ignored_signals_keeps_them_but_sigdefault_and_caught_ones) {
  caller_dispositions();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_KEEP_IGNORED_SIGNALS;
  probe p = waiting_probe(&a);
  /* What this process ignores: those four, and whatever it was started with (a caller
   * started by glibc's posix_spawn, as cargo starts this test, ignores its internal signals
   * 32 and 33). */
  unsigned long long callers = status_hex(getpid(), "SigIgn");
  unsigned long long want = BIT(SIGHUP) | BIT(SIGPIPE) | BIT(SIGUSR2) | BIT(40);
  CHECK((callers & want) == want && !(callers & BIT(SIGUSR1)), "the caller's SigIgn %llx", callers);
  want = callers;
  CHECK(status_hex(p.pid, "SigIgn") == want, "SigIgn %s, want %llx", status_of(p.pid, "SigIgn"), want);
  CHECK(status_hex(p.pid, "SigCgt") == 0, "SigCgt %s: a handler reached the program",
        status_of(p.pid, "SigCgt"));
  finish_probe(&p);

  /* Python's restore_signals: SIGPIPE (and SIGXFSZ, not ignored here) back to default. */
  a.sigdefault = BIT(SIGPIPE) | BIT(SIGXFSZ);
  p = waiting_probe(&a);
  want = callers & ~BIT(SIGPIPE);
  CHECK(status_hex(p.pid, "SigIgn") == want, "SigIgn %s, want %llx", status_of(p.pid, "SigIgn"), want);
  finish_probe(&p);

  /* The caller's own dispositions are untouched. */
  struct sigaction now;
  CHECK(sigaction(SIGPIPE, NULL, &now) == 0 && now.sa_handler == SIG_IGN, "caller's SIGPIPE");
  CHECK(sigaction(SIGUSR1, NULL, &now) == 0 && now.sa_handler == on_usr1, "caller's SIGUSR1");
}

TEST(sigdefault_without_the_flag_or_with_sigkill_is_einval) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  a.sigdefault = BIT(SIGPIPE);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "sigdefault without SPROUT_EXEC2_KEEP_IGNORED_SIGNALS");
  a.flags2 = SPROUT_EXEC2_KEEP_IGNORED_SIGNALS;
  a.sigdefault = BIT(SIGKILL);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "sigdefault: SIGKILL (9) is always SIG_DFL");
}

/* The child's rt_sigaction that reads the old disposition refused (a filter of the caller's,
 * which the child inherits): the spawn fails at SPAWN naming the signal, never starting the
 * program with a disposition it did not ask for. */
TEST(a_refused_disposition_fails_the_spawn_naming_the_signal) {
  caller_dispositions();
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 0, 4),
      /* the old action (args[2]) asked for: low 32 bits non-zero */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  install_filter(filter, sizeof filter / sizeof filter[0]);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_KEEP_IGNORED_SIGNALS;
  a.sigdefault = 1ull << (SIGPIPE - 1);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EIO, SPROUT_STAGE_SPAWN);
  /* After clone3 (CLONE_CLEAR_SIGHAND reset the handlers and kept SIG_IGN) only the sigdefault
   * signals take a call; after the legacy clone every signal does, SIGHUP first. */
  CHECK(strstr(err.message, "keeping the caller's ignored signals: SIGPIPE (13) (rt_sigaction)") ||
            strstr(err.message, "keeping the caller's ignored signals: SIGHUP (1) (rt_sigaction)"),
        "message %s", err.message);
  /* Without the flag no old disposition is read: the same filter lets it through. */
  a.flags2 = 0;
  a.sigdefault = 0;
  int status = -1;
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
}

TEST(keep_umask_keeps_the_callers_and_ignores_the_field) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const mode_t masks[] = {027, 0, 0777, 0123};
  for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
    umask(masks[i]);
    a.flags2 = SPROUT_EXEC2_KEEP_UMASK;
    probe p = waiting_probe(&a);
    char want[8];
    snprintf(want, sizeof want, "%04o", (unsigned)masks[i]);
    CHECK(!strcmp(status_of(p.pid, "Umask"), want), "Umask %s, caller's %s", status_of(p.pid, "Umask"), want);
    finish_probe(&p);
    a.flags2 = 0;
    p = waiting_probe(&a);
    CHECK(!strcmp(status_of(p.pid, "Umask"), "0022"), "Umask %s without the flag", status_of(p.pid, "Umask"));
    finish_probe(&p);
    mode_t now = umask(0);
    CHECK(now == masks[i], "the caller's umask became %04o", (unsigned)now);
  }
  /* Not even a bad value of the field matters when it is not used. */
  umask(077);
  a.flags2 = SPROUT_EXEC2_KEEP_UMASK;
  a.umask = 01000000;
  probe p = waiting_probe(&a);
  CHECK(!strcmp(status_of(p.pid, "Umask"), "0077"), "Umask %s", status_of(p.pid, "Umask"));
  finish_probe(&p);
}

/* Reading the caller's umask takes umask(2), which sets it too: another thread's umask() in
 * between would be lost, and that thread could see the value set meanwhile. Nothing of the
 * spawn may call it, in the caller or in the child: under a filter that kills the process
 * calling umask (the child inherits it), the spawn works and the process has the umask the
 * caller had. */
TEST(keep_umask_makes_no_umask_call_in_the_caller_or_the_child) {
  umask(027);
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_umask, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  install_filter(filter, sizeof filter / sizeof filter[0]);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_KEEP_UMASK;
  probe p = waiting_probe(&a);
  CHECK(!strcmp(status_of(p.pid, "Umask"), "0027"), "Umask %s", status_of(p.pid, "Umask"));
  finish_probe(&p);
}

int main(void) {
  RUN(sigmask_is_the_programs_mask_and_zero_is_empty);
  RUN(sigmask_with_an_unblockable_signal_is_einval);
  RUN(without_the_flag_every_signal_goes_back_to_default);
  RUN(keep_ignored_signals_keeps_them_but_sigdefault_and_caught_ones);
  RUN(sigdefault_without_the_flag_or_with_sigkill_is_einval);
  RUN(a_refused_disposition_fails_the_spawn_naming_the_signal);
  RUN(keep_umask_keeps_the_callers_and_ignores_the_field);
  RUN(keep_umask_makes_no_umask_call_in_the_caller_or_the_child);
  return summary();
}
