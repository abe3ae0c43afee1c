/*
 * The calling thread's signal mask around clone: every signal is blocked before the child is
 * started and the caller's mask put back afterwards. When the kernel refuses either step (here
 * a seccomp filter of the caller's), the call fails at stage SPAWN and says which step, and no
 * process is left behind.
 */
#include "core_util.h"

#include <stddef.h>

/* Refuses with EPERM rt_sigprocmask(SIG_SETMASK, set, oldset) where oldset is non-NULL
 * (`with_old_set`: the block, which saves the caller's mask) or NULL (the restore). */
static void refuse_setmask(int with_old_set) {
  const unsigned refuse = SECCOMP_RET_ERRNO | EPERM, allow = SECCOMP_RET_ALLOW;
  struct sock_filter filter[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigprocmask, 0, 8),
      /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIG_SETMASK, 0, 6),
      /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
      /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
      /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4),
      /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
      /* 8: an old set */ BPF_STMT(BPF_RET | BPF_K, with_old_set ? refuse : allow),
      /* 9: none */ BPF_STMT(BPF_RET | BPF_K, with_old_set ? allow : refuse),
      /* 10 */ BPF_STMT(BPF_RET | BPF_K, allow),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
}

static int spawn(sprout_error *err) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  return sprout_exec_async(&a, NULL, 0, &proc, err);
}

static void check_no_child_left(void) {
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is left behind");
}

TEST(a_refused_block_fails_the_spawn_and_leaves_the_mask) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  CHECK(sigprocmask(SIG_SETMASK, &usr1, NULL) == 0, "sigprocmask");
  char before[64];
  snprintf(before, sizeof before, "%s", status_of(getpid(), "SigBlk"));
  refuse_setmask(1);
  sprout_error err;
  CHECK_FAILS(spawn(&err), &err, EPERM, SPROUT_STAGE_SPAWN);
  CHECK_MESSAGE_HAS(&err, "blocking signals around clone");
  CHECK(!strcmp(status_of(getpid(), "SigBlk"), before), "SigBlk %s, was %s",
        status_of(getpid(), "SigBlk"), before);
  check_no_child_left();
}

/* The child's own last mask change is refused too (the same call with no old set), so the
 * spawn fails there first; the refused restore must still be reported, not dropped. */
TEST(a_refused_restore_is_reported_and_leaves_no_process) {
  refuse_setmask(0);
  sprout_error err;
  CHECK_FAILS(spawn(&err), &err, EPERM, SPROUT_STAGE_SPAWN);
  CHECK_MESSAGE_HAS(&err, "restoring the calling thread's signal mask after clone");
  check_no_child_left();
}

int main(void) {
  RUN(a_refused_block_fails_the_spawn_and_leaves_the_mask);
  RUN(a_refused_restore_is_reported_and_leaves_no_process);
  return summary();
}
