/*
 * ABI 1.1's root directory, hostname and domain name, personality and ptrace, seen from
 * outside: /proc/PID/root and cwd, what the program reads of its UTS namespace
 * (/proc/sys/kernel/hostname), /proc/PID/personality and `uname -m`, /proc/PID/status
 * TracerPid and the stop at exec; each with its refusals at the right stage.
 */
#include <sched.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "core_util.h"

/* Ends in `stage` with `errno_` and a message holding `text`, no process left. */
static void check_refused(sprout_exec_args *a, int errno_, uint32_t stage, const char *text) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  if (!a->argv) a->argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(a, NULL, 0, &proc, &err);
  CHECK(rc == -errno_ && err.code == errno_ && err.stage == stage, "returned %d, stage %s: %s", rc,
        sprout_stage_name(err.stage), err.message);
  CHECK_MESSAGE_HAS(&err, text);
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is left");
  a->argv = NULL;
}

/* A seccomp filter for this test process, inherited by its spawns, refusing `nr` with EPERM. */
static void refuse(long nr) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs");
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, "seccomp: %s", strerror(errno));
}

/* The probe's stdout for `args` under `a`. */
static char *output_of(sprout_exec_args *a, const char *const *args) { return run_probe(a, args); }

static sprout_namespace new_uts = {CLONE_NEWUTS, -1};

TEST(hostname_and_domainname_name_the_new_uts_namespace) {
  need_root();
  char mine[256];
  CHECK(gethostname(mine, sizeof mine) == 0, "gethostname");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.namespaces = &new_uts;
  a.namespaces_len = 1;
  a.hostname = "sprout-box";
  a.domainname = "sprout.test";
  char *out = output_of(&a, (const char *const[]){"cat", "/proc/sys/kernel/hostname", "cat",
                                                  "/proc/sys/kernel/domainname", NULL});
  CHECK(strstr(out, "cat=sprout-box\ncat=sprout.test\n"), "the program read:\n%s", out);
  free(out);
  char after[256];
  CHECK(gethostname(after, sizeof after) == 0 && !strcmp(mine, after), "the caller's hostname changed");
  /* The longest name the kernel takes. */
  char longest[65];
  memset(longest, 'x', 64);
  longest[64] = 0;
  a.hostname = longest;
  a.domainname = NULL;
  out = output_of(&a, (const char *const[]){"cat", "/proc/sys/kernel/hostname", NULL});
  CHECK(strstr(out, longest), "%s", out);
  free(out);
}

TEST(a_name_without_a_new_uts_namespace_or_too_long_is_einval) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.hostname = "x";
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "hostname without a new UTS namespace");
  int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
  sprout_namespace joined = {CLONE_NEWUTS, fd};
  a.namespaces = &joined;
  a.namespaces_len = 1;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "hostname without a new UTS namespace");
  a.namespaces = &new_uts;
  char long_name[66];
  memset(long_name, 'x', 65);
  long_name[65] = 0;
  a.hostname = NULL;
  a.domainname = long_name;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "domainname is 65 bytes");
  close(fd);
}

TEST(a_refused_sethostname_fails_at_uts) {
  need_root();
  refuse(SYS_sethostname);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.namespaces = &new_uts;
  a.namespaces_len = 1;
  a.hostname = "box";
  check_refused(&a, EPERM, SPROUT_STAGE_UTS, "uts: hostname \"box\"");
}

/* A root directory holding a copy of the probe at /bin/probe and a directory /work. */
static const char *make_root(void) {
  char *root = temp_path("root");
  struct stat st;
  if (stat(root, &st) == 0) return root; /* made by an earlier test */
  free(root);
  root = temp_dir("root");
  char *bin = temp_dir("root/bin");
  char *work = temp_dir("root/work");
  char *probe = temp_path("root/bin/probe");
  copy_probe(probe);
  free(bin);
  free(work);
  free(probe);
  return root;
}

TEST(root_directory_is_the_processes_root_and_a_relative_cwd_is_found_from_it) {
  need_root();
  const char *root = make_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.root_directory = root;
  a.working_directory = "work"; /* relative: to the new root, not to the caller's cwd */
  const char *argv[] = {"/bin/probe", "wait", NULL};
  a.argv = argv;
  int in[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0, "pipe2");
  int32_t fds[] = {in[0], 1, 2};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  close(in[0]);
  char want[PATH_MAX];
  snprintf(want, sizeof want, "%s/work", root);
  CHECK(!strcmp(proc_link(proc.pid, "root"), root), "root %s, not %s", proc_link(proc.pid, "root"), root);
  CHECK(!strcmp(proc_link(proc.pid, "cwd"), want), "cwd %s, not %s", proc_link(proc.pid, "cwd"), want);
  close(in[1]);
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(!strcmp(proc_link(getpid(), "root"), "/"), "the caller's root became %s", proc_link(getpid(), "root"));

  /* A name without '/' is searched in the PATH, inside the root. */
  const char *searched[] = {"probe", "exit", "4", NULL};
  const char *envv[] = {"PATH=/bin", NULL};
  a.argv = searched;
  a.envv = envv;
  a.working_directory = "/work";
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4, "status %#x", status);
}

TEST(root_fd_is_the_processes_root_and_need_stay_open_only_for_the_call) {
  need_root();
  const char *root = make_root();
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s", root);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_ROOT_FD;
  a.root_fd = fd;
  const char *argv[] = {"/bin/probe", "wait", NULL};
  a.argv = argv;
  int in[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0, "pipe2");
  int32_t fds[] = {in[0], 1, 2};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  close(fd);
  close(in[0]);
  CHECK(!strcmp(proc_link(proc.pid, "root"), root), "root %s", proc_link(proc.pid, "root"));
  CHECK(!strcmp(proc_link(proc.pid, "cwd"), root), "cwd %s (working directory \"/\")", proc_link(proc.pid, "cwd"));
  CHECK(!strcmp(proc_fd_list(proc.pid), "0 1 2"), "fds %s: the root fd leaked", proc_fd_list(proc.pid));
  close(in[1]);
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
}

TEST(a_root_that_cannot_be_entered_fails_at_chroot) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.root_directory = "/nonexistent-sprout-root";
  check_refused(&a, ENOENT, SPROUT_STAGE_CHROOT, "chroot: root_directory \"/nonexistent-sprout-root\"");
  int fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  a.root_directory = NULL;
  a.flags2 = SPROUT_EXEC2_ROOT_FD;
  a.root_fd = fd;
  char want[64];
  snprintf(want, sizeof want, "chroot: root_fd %d: fchdir", fd);
  check_refused(&a, ENOTDIR, SPROUT_STAGE_CHROOT, want);
  close(fd);
  a.root_fd = fd;
  check_refused(&a, EBADF, SPROUT_STAGE_ARGS, "root_fd");
  /* Without CAP_SYS_CHROOT. */
  a.flags2 = 0;
  a.root_fd = 0;
  a.root_directory = "/";
  struct {
    uint32_t version;
    int pid;
  } header = {0x20080522, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } data[2];
  CHECK(syscall(SYS_capget, &header, data) == 0, "capget");
  data[0].effective &= ~(1u << 18); /* CAP_SYS_CHROOT */
  CHECK(syscall(SYS_capset, &header, data) == 0, "capset: %s", strerror(errno));
  check_refused(&a, EPERM, SPROUT_STAGE_CHROOT, "chroot: root_directory \"/\"");
}

TEST(personality_is_the_programs) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PERSONALITY;
  a.personality = 0x0040000; /* ADDR_NO_RANDOMIZE */
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  char *text = proc_file(p.pid, "personality");
  CHECK(text && !strcmp(text, "00040000\n"), "personality %s", text ? text : "(none)");
  free(text);
  finish_probe(&p);

  /* linux32: uname, run in the process, says the machine is a 32-bit one. */
  a.personality = 0x0008;
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2");
  int32_t fds[] = {-1, out[1], 2};
  const char *argv[] = {"/bin/uname", "-m", NULL};
  a.argv = argv;
  int status;
  CHECK_OK(sprout_exec(&a, fds, 3, &status, &err), &err);
  close(out[1]);
  char *machine = read_all(out[0]);
  close(out[0]);
  CHECK(!strcmp(machine, "i686\n"), "uname -m said %s", machine);
  free(machine);
  a.argv = NULL;
  /* Without the flag: the caller's. */
  a.flags2 = 0;
  a.personality = 0;
  CHECK_OK(start_probe(&a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  text = proc_file(p.pid, "personality");
  char mine[16];
  snprintf(mine, sizeof mine, "%08x\n", (unsigned)personality(0xffffffff));
  CHECK(text && !strcmp(text, mine), "personality %s, the caller's %s", text, mine);
  free(text);
  finish_probe(&p);
}

TEST(personality_refusals) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PERSONALITY;
  a.personality = 0x0001; /* PER_SVR4's domain */
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "execution domain 0x1");
  a.personality = 0x10000000;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "unknown flags 0x10000000");
  a.personality = 0x0040000;
  refuse(SYS_personality);
  check_refused(&a, EPERM, SPROUT_STAGE_PERSONALITY, "personality: personality 0x40000");
}

/* The spawning thread traces the program, which stops with SIGTRAP at its exec; sprout_wait
 * waits for its end only (a stop is the tracer's to see), and once detached it runs on. */
TEST(ptrace_stops_the_program_at_exec_traced_by_the_calling_thread) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PTRACE;
  const char *argv[] = {probe_path(), "exit", "3", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
  int status = 0;
  CHECK(waitpid(proc.pid, &status, __WALL) == proc.pid, "waitpid: %s", strerror(errno));
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP, "status %#x, not stopped by SIGTRAP", status);
  char tracer[16];
  snprintf(tracer, sizeof tracer, "%ld", (long)syscall(SYS_gettid));
  CHECK(!strcmp(status_of(proc.pid, "TracerPid"), tracer), "TracerPid %s, not %s", status_of(proc.pid, "TracerPid"), tracer);
  CHECK(!strncmp(status_of(proc.pid, "State"), "t", 1), "State %s", status_of(proc.pid, "State"));
  /* It has exec'd already: its command line is the probe's. */
  size_t len;
  char *cmdline = proc_bytes(proc.pid, "cmdline", &len);
  CHECK(len > 0 && !strcmp(cmdline, probe_path()), "cmdline %s", cmdline);
  free(cmdline);
  CHECK(sprout_wait(proc.pid, 200, &status, &err) == -ETIMEDOUT, "sprout_wait on a stopped tracee: %s", err.message);
  CHECK(ptrace(PTRACE_DETACH, proc.pid, 0, 0) == 0, "PTRACE_DETACH: %s", strerror(errno));
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);

  /* Without the flag: not traced. */
  a.flags2 = 0;
  probe p;
  CHECK_OK(start_probe(&a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  CHECK(!strcmp(status_of(p.pid, "TracerPid"), "0"), "TracerPid %s", status_of(p.pid, "TracerPid"));
  finish_probe(&p);
}

TEST(ptrace_refusals) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PTRACE;
  a.sigmask = 1ull << (SIGTRAP - 1);
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "blocks SIGTRAP (5) with ptrace");
  a.sigmask = 0;
  refuse(SYS_ptrace);
  check_refused(&a, EPERM, SPROUT_STAGE_PTRACE, "ptrace: PTRACE_TRACEME (refused");
}

int main(void) {
  temp_root_create("isolation");
  RUN(hostname_and_domainname_name_the_new_uts_namespace);
  RUN(a_name_without_a_new_uts_namespace_or_too_long_is_einval);
  RUN(a_refused_sethostname_fails_at_uts);
  RUN(root_directory_is_the_processes_root_and_a_relative_cwd_is_found_from_it);
  RUN(root_fd_is_the_processes_root_and_need_stay_open_only_for_the_call);
  RUN(a_root_that_cannot_be_entered_fails_at_chroot);
  RUN(personality_is_the_programs);
  RUN(personality_refusals);
  RUN(ptrace_stops_the_program_at_exec_traced_by_the_calling_thread);
  RUN(ptrace_refusals);
  int failed = summary();
  temp_root_remove();
  return failed;
}
