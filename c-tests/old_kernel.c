/*
 * old_kernel: runs a program as on a kernel without the newer system calls sprout uses, the
 * way a container profile or an older kernel presents them: a seccomp filter answers ENOSYS
 * to clone3 (Linux 5.3; CLONE_INTO_CGROUP and CLONE_CLEAR_SIGHAND come with it),
 * close_range (5.9), pidfd_open (5.3) and pidfd_send_signal (5.1), and ENOTTY to the
 * PIDFD_GET_INFO ioctl (6.15) as older kernels do, then execs the program.
 *
 *   old_kernel PROGRAM [ARGS...]
 *
 * The filter is inherited by everything the program starts, and cannot be removed. Run as
 * root, it is installed without no_new_privs (root may), which would change what the
 * programs started under it can do.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The ioctl number's type and number bits: its size bits grow with the struct. */
#define PIDFD_GET_INFO_TYPE_NR 0xff0b

#define REFUSE(nr)                                    \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: old_kernel PROGRAM [ARGS...]\n");
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      REFUSE(SYS_clone3),
      REFUSE(SYS_close_range),
      REFUSE(SYS_pidfd_open),
      REFUSE(SYS_pidfd_send_signal),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xffff),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PIDFD_GET_INFO_TYPE_NR, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if ((geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    fprintf(stderr, "old_kernel: seccomp: %s\n", strerror(errno));
    return 2;
  }
  if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS) {
    fprintf(stderr, "old_kernel: clone3 is not refused\n");
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "old_kernel: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
