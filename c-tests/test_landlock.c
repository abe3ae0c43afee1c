/* Landlock at spawn (ABI 1.1), seen from the sandboxed process: a ruleset built by
 * sprout_landlock_create_ruleset and enforced last before execve keeps the process to the files,
 * TCP ports and scopes it allows, as root and as an unprivileged caller; the ruleset fd never
 * reaches the program; refusals name what they refuse. */
#include "harness.h"

#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#define LL_READ (SPROUT_LANDLOCK_ACCESS_FS_READ_FILE | SPROUT_LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS ((SPROUT_LANDLOCK_ACCESS_FS_IOCTL_DEV << 1) - 1)
#define LL_NET (SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP | SPROUT_LANDLOCK_ACCESS_NET_CONNECT_TCP)
#define LL_SCOPES (SPROUT_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | SPROUT_LANDLOCK_SCOPE_SIGNAL)

static void need_landlock(void) {
  int abi = sprout_landlock_abi_version();
  if (abi == -ENOSYS || abi == -EOPNOTSUPP) SKIP("this kernel has no Landlock (%d)", abi);
  CHECK(abi >= 6, "Landlock ABI %d: these tests need scopes (ABI 6, Linux 6.12)", abi);
}

/* A directory of this test's own under /tmp, readable by anyone, with a file in it. */
static void make_dir(char *dir, size_t size) {
  snprintf(dir, size, "/tmp/sprout-landlock-%d", (int)getpid());
  CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
  char file[600];
  snprintf(file, sizeof file, "%s/file", dir);
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  CHECK(fd >= 0, "create %s: %s", file, strerror(errno));
  close(fd);
}

static void remove_dir(const char *dir) {
  char file[600];
  snprintf(file, sizeof file, "%s/file", dir);
  unlink(file);
  rmdir(dir);
}

/* Two TCP ports nobody listens on, one to allow and one not. */
static int port_base(void) { return 20000 + (int)(getpid() % 20000); }

/* The sandbox of the issue: /usr and `dir` readable (and /usr executable), the probe itself
 * runnable, binding only port_base(), connecting only to port_base() + 2, and no reach outside
 * the domain. Returns the ruleset fd. */
static int sandbox(const char *dir, sprout_landlock_access *dropped, uint32_t flags) {
  sprout_landlock_path_rule paths[] = {
      {LL_READ | SPROUT_LANDLOCK_ACCESS_FS_EXECUTE, "/usr", -1},
      {LL_READ, dir, -1},
      {SPROUT_LANDLOCK_ACCESS_FS_READ_FILE | SPROUT_LANDLOCK_ACCESS_FS_EXECUTE, probe_path(), -1},
  };
  sprout_landlock_port_rule ports[] = {
      {SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP, (uint64_t)port_base()},
      {SPROUT_LANDLOCK_ACCESS_NET_CONNECT_TCP, (uint64_t)port_base() + 2},
  };
  sprout_landlock_ruleset r = {0};
  r.size = sizeof r;
  r.flags = flags;
  r.handled_access_fs = LL_FS;
  r.handled_access_net = LL_NET;
  r.scoped = LL_SCOPES;
  r.paths = paths;
  r.paths_len = 3;
  r.ports = ports;
  r.ports_len = 2;
  sprout_error err;
  int fd = sprout_landlock_create_ruleset(&r, dropped, &err);
  CHECK(fd >= 0, "sprout_landlock_create_ruleset: %d %s", fd, err.message);
  CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the ruleset fd is not close-on-exec");
  return fd;
}

/* The probe under the ruleset, with no_new_privs; returns its stdout. */
static char *run_sandboxed(int ruleset, const char *const *args) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a.flags2 = SPROUT_EXEC2_LANDLOCK;
  a.landlock_ruleset_fd = ruleset;
  return run_probe(&a, args);
}

/* A process to signal (outside the sandbox's domain): a probe in "pause". */
static int start_victim(void) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "pause", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
  return proc.pid;
}

/* An abstract UNIX socket listening as `name`, or -1. */
static int listen_abstract(const char *name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name, strlen(name));
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  CHECK(bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 4) == 0, "abstract %s: %s", name,
        strerror(errno));
  return fd;
}

/* Everything the issue asks, checked from the probe's own calls. */
static void check_the_sandbox(void) {
  char dir[512], file[600], other[64], bind_ok[16], bind_no[16], connect_ok[16], connect_no[16],
      victim[16], abstract[64];
  make_dir(dir, sizeof dir);
  snprintf(file, sizeof file, "%s/file", dir);
  snprintf(bind_ok, sizeof bind_ok, "%d", port_base());
  snprintf(bind_no, sizeof bind_no, "%d", port_base() + 1);
  snprintf(connect_ok, sizeof connect_ok, "%d", port_base() + 2);
  snprintf(connect_no, sizeof connect_no, "%d", port_base() + 3);
  snprintf(abstract, sizeof abstract, "sprout-landlock-%d", (int)getpid());
  int listening = listen_abstract(abstract);
  int victim_pid = start_victim();
  snprintf(victim, sizeof victim, "%d", victim_pid);
  snprintf(other, sizeof other, "/tmp");
  sprout_landlock_access dropped = {1, 1, 1};
  int ruleset = sandbox(dir, &dropped, 0);
  CHECK(dropped.fs == 0 && dropped.net == 0 && dropped.scoped == 0, "strict mode dropped rights");
  const char *args[] = {"open", "/etc/passwd", "open", "/usr/bin/env", "open", file,
                        "open", other, "bind", bind_ok, "bind", bind_no,
                        "connect", connect_ok, "connect", connect_no, "kill", victim, "15",
                        "abstract", abstract, "report", NULL};
  char *out = run_sandboxed(ruleset, args);
  /* The victim outlived the sandbox's SIGTERM; the caller still reaches it. */
  CHECK(sprout_signal(victim_pid, 0) == 0, "the victim is gone");
  sprout_signal(victim_pid, SIGKILL);
  sprout_wait(victim_pid, 10000, NULL, NULL);
  close(listening);
  remove_dir(dir);
  CHECK(!strcmp(field_nth(out, "open", 0), "errno 13 (Permission denied)"), "/etc/passwd: %s",
        field_nth(out, "open", 0));
  CHECK(!strcmp(field_nth(out, "open", 1), "ok"), "/usr/bin/env: %s", field_nth(out, "open", 1));
  CHECK(!strcmp(field_nth(out, "open", 2), "ok"), "%s: %s", file, field_nth(out, "open", 2));
  CHECK(!strncmp(field_nth(out, "open", 3), "errno 13", 8), "/tmp: %s", field_nth(out, "open", 3));
  CHECK(!strcmp(field_nth(out, "bind", 0), "ok"), "bind %s: %s", bind_ok, field_nth(out, "bind", 0));
  CHECK(!strncmp(field_nth(out, "bind", 1), "errno 13", 8), "bind %s: %s", bind_no,
        field_nth(out, "bind", 1));
  /* Allowed: refused by nobody listening; denied: refused by Landlock. */
  CHECK(!strncmp(field_nth(out, "connect", 0), "errno 111", 9), "connect %s: %s", connect_ok,
        field_nth(out, "connect", 0));
  CHECK(!strncmp(field_nth(out, "connect", 1), "errno 13", 8), "connect %s: %s", connect_no,
        field_nth(out, "connect", 1));
  CHECK(!strncmp(field(out, "kill"), "errno 1 ", 8), "kill: %s", field(out, "kill"));
  CHECK(!strncmp(field(out, "abstract"), "errno 1 ", 8), "abstract: %s", field(out, "abstract"));
  /* The ruleset fd never reached the program: it has exactly its fds 0-2. */
  CHECK(count_lines(out, "fd=") == 3, "fds:\n%s", out);
  CHECK(fcntl(ruleset, F_GETFD) >= 0, "the caller's ruleset fd was closed");
  close(ruleset);
}

TEST(the_kernel_tells_its_landlock_abi) {
  int abi = sprout_landlock_abi_version();
  long raw = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
  CHECK(abi == (raw < 0 ? -errno : raw), "sprout says %d, the kernel %ld", abi, raw);
  need_landlock();
}

TEST(a_sandboxed_child_keeps_to_its_files_ports_and_domain) {
  need_landlock();
  check_the_sandbox();
}

TEST(an_unprivileged_caller_sandboxes_as_root_does) {
  need_landlock();
  need_root();
  CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
            setresuid(65534, 65534, 65534) == 0,
        "becoming nobody: %s", strerror(errno));
  check_the_sandbox();
}

TEST(the_same_request_without_landlock_reaches_everything) {
  char dir[512];
  make_dir(dir, sizeof dir);
  int victim_pid = start_victim();
  char victim[16];
  snprintf(victim, sizeof victim, "%d", victim_pid);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  const char *args[] = {"open", "/etc/passwd", "kill", victim, "0", NULL};
  char *out = run_probe(&a, args);
  sprout_signal(victim_pid, SIGKILL);
  sprout_wait(victim_pid, 10000, NULL, NULL);
  remove_dir(dir);
  CHECK(!strcmp(field(out, "open"), "ok") && !strcmp(field(out, "kill"), "ok"), "%s", out);
}

/* Root holds CAP_SYS_ADMIN and needs no no_new_privs; a process left without it is refused,
 * the message saying what it lacks. */
TEST(without_no_new_privs_the_restriction_needs_cap_sys_admin) {
  need_landlock();
  need_root();
  char dir[512];
  make_dir(dir, sizeof dir);
  int ruleset = sandbox(dir, NULL, 0);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_LANDLOCK;
  a.landlock_ruleset_fd = ruleset;
  const char *args[] = {"open", "/etc/passwd", NULL};
  char *out = run_probe(&a, args);
  CHECK(!strncmp(field(out, "open"), "errno 13", 8), "%s", out);
  sprout_capabilities none = {0, 0, 0, 0, 0};
  a.capabilities = &none;
  probe p;
  sprout_error err;
  int rc = start_probe(&a, args, &p, &err);
  remove_dir(dir);
  CHECK(rc == -EPERM && err.stage == SPROUT_STAGE_LANDLOCK, "rc %d stage %s: %s", rc,
        sprout_stage_name(err.stage), err.message);
  CHECK(strstr(err.message, "without no_new_privs (SPROUT_EXEC_NO_NEW_PRIVS)"), "%s", err.message);
}

TEST(restrict_flags_and_fds_are_checked) {
  need_landlock();
  char dir[512];
  make_dir(dir, sizeof dir);
  int ruleset = sandbox(dir, NULL, 0);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  a.landlock_ruleset_fd = ruleset;
  int unflagged = start_probe(&a, args, &p, &err);
  CHECK(unflagged == -EINVAL && err.stage == SPROUT_STAGE_ARGS &&
            strstr(err.message, "without SPROUT_EXEC2_LANDLOCK"),
        "%d %s", unflagged, err.message);
  a.flags2 = SPROUT_EXEC2_LANDLOCK;
  a.landlock_restrict_flags = 1u << 30;
  int unknown = start_probe(&a, args, &p, &err);
  CHECK(unknown == -EINVAL && strstr(err.message, "landlock_restrict_flags: unknown bits"), "%d %s",
        unknown, err.message);
  if (sprout_landlock_abi_version() >= 7) {
    a.landlock_restrict_flags = SPROUT_LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF;
    CHECK_OK(start_probe(&a, args, &p, &err), &err);
    CHECK(WIFEXITED(finish_probe(&p)), "exit");
  }
  a.landlock_restrict_flags = 0;
  int not_a_ruleset = open("/dev/null", O_RDONLY | O_CLOEXEC);
  a.landlock_ruleset_fd = not_a_ruleset;
  int wrong = start_probe(&a, args, &p, &err);
  CHECK(wrong == -EBADFD && err.stage == SPROUT_STAGE_LANDLOCK && strstr(err.message, "not a Landlock ruleset"),
        "%d %s", wrong, err.message);
  a.landlock_ruleset_fd = 999;
  CHECK(start_probe(&a, args, &p, &err) == -EBADF && strstr(err.message, "landlock_ruleset_fd 999"),
        "%s", err.message);
  remove_dir(dir);
}

TEST(ruleset_requests_are_checked_and_named) {
  need_landlock();
  sprout_landlock_path_rule paths[] = {
      {SPROUT_LANDLOCK_ACCESS_FS_READ_FILE, "/usr", -1},
      {SPROUT_LANDLOCK_ACCESS_FS_READ_FILE, "/no/such/dir-sprout", -1},
  };
  sprout_landlock_ruleset r = {0};
  r.size = sizeof r;
  r.handled_access_fs = SPROUT_LANDLOCK_ACCESS_FS_READ_FILE;
  r.paths = paths;
  r.paths_len = 2;
  sprout_error err;
  sprout_landlock_access dropped;
  int rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc == -ENOENT && err.stage == SPROUT_STAGE_LANDLOCK &&
            strstr(err.message, "paths[1] /no/such/dir-sprout"),
        "%d %s", rc, err.message);
  paths[1].path = NULL;
  paths[1].fd = -1;
  rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc == -EBADF && strstr(err.message, "paths[1]: no path, and fd -1"), "%d %s", rc, err.message);
  paths[1].fd = open("/tmp", O_PATH | O_CLOEXEC);
  paths[1].access = SPROUT_LANDLOCK_ACCESS_FS_READ_FILE | SPROUT_LANDLOCK_ACCESS_FS_EXECUTE;
  rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_ARGS &&
            strstr(err.message, "paths[1]: LANDLOCK_ACCESS_FS_EXECUTE not in handled_access_fs"),
        "%d %s", rc, err.message);
  paths[1].access = SPROUT_LANDLOCK_ACCESS_FS_READ_FILE;
  rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc >= 0, "by fd: %d %s", rc, err.message);
  close(rc);
  r.handled_access_fs = 1ull << 40;
  rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "handled_access_fs: unknown bits 0x10000000000"), "%d %s",
        rc, err.message);
  r.handled_access_fs = SPROUT_LANDLOCK_ACCESS_FS_READ_FILE;
  r.flags = 2;
  CHECK(sprout_landlock_create_ruleset(&r, &dropped, &err) == -EINVAL, "flags: %s", err.message);
  r.flags = 0;
  r.size = 8;
  CHECK(sprout_landlock_create_ruleset(&r, &dropped, &err) == -EINVAL, "small size: %s", err.message);
  struct {
    sprout_landlock_ruleset r;
    uint64_t more;
  } bigger = {r, 1};
  bigger.r.size = sizeof bigger;
  CHECK(sprout_landlock_create_ruleset(&bigger.r, &dropped, &err) == -E2BIG, "bigger: %s",
        err.message);
  bigger.more = 0;
  rc = sprout_landlock_create_ruleset(&bigger.r, NULL, &err);
  CHECK(rc >= 0, "a bigger struct with a zero tail: %s", err.message);
  close(rc);
  sprout_landlock_port_rule ports[] = {{SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP, 70000}};
  r.size = sizeof r;
  r.handled_access_net = SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP;
  r.paths_len = 1;
  r.ports = ports;
  r.ports_len = 1;
  rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "ports[0] (port 70000): not a TCP port"), "%d %s", rc,
        err.message);
}

/* A rule on a file keeps only the rights a file can have: --landlock-ro on a file just works. */
TEST(a_file_rule_keeps_the_rights_of_a_file) {
  need_landlock();
  sprout_landlock_path_rule paths[] = {
      {LL_READ | SPROUT_LANDLOCK_ACCESS_FS_EXECUTE, probe_path(), -1},
      {LL_READ, "/etc/hostname", -1},
  };
  sprout_landlock_ruleset r = {0};
  r.size = sizeof r;
  r.handled_access_fs = LL_FS;
  r.paths = paths;
  r.paths_len = 2;
  sprout_error err;
  int ruleset = sprout_landlock_create_ruleset(&r, NULL, &err);
  CHECK(ruleset >= 0, "%s", err.message);
  const char *args[] = {"open", "/etc/hostname", "open", "/etc/passwd", NULL};
  char *out = run_sandboxed(ruleset, args);
  CHECK(!strcmp(field_nth(out, "open", 0), "ok"), "%s", out);
  CHECK(!strncmp(field_nth(out, "open", 1), "errno 13", 8), "%s", out);
}

/* Best effort on this kernel drops nothing it has; a kernel without Landlock (here: a seccomp
 * filter answering EOPNOTSUPP, as a kernel booted without it in its lsm= list does) is an error
 * in both modes, naming why. */
TEST(without_landlock_both_modes_say_so) {
  need_landlock();
  char dir[512];
  make_dir(dir, sizeof dir);
  sprout_landlock_access dropped = {1, 1, 1};
  int ruleset = sandbox(dir, &dropped, SPROUT_LANDLOCK_BEST_EFFORT);
  CHECK(dropped.fs == 0 && dropped.net == 0 && dropped.scoped == 0, "dropped %#llx %#llx %#llx",
        (unsigned long long)dropped.fs, (unsigned long long)dropped.net,
        (unsigned long long)dropped.scoped);
  close(ruleset);
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {4, filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0,
        "seccomp: %s", strerror(errno));
  CHECK(sprout_landlock_abi_version() == -EOPNOTSUPP, "abi %d", sprout_landlock_abi_version());
  sprout_landlock_path_rule paths[] = {{SPROUT_LANDLOCK_ACCESS_FS_READ_FILE, "/usr", -1}};
  sprout_landlock_ruleset r = {0};
  r.size = sizeof r;
  r.handled_access_fs = SPROUT_LANDLOCK_ACCESS_FS_READ_FILE;
  r.paths = paths;
  r.paths_len = 1;
  sprout_error err;
  for (uint32_t flags = 0; flags <= SPROUT_LANDLOCK_BEST_EFFORT; flags++) {
    r.flags = flags;
    int rc = sprout_landlock_create_ruleset(&r, &dropped, &err);
    CHECK(rc == -EOPNOTSUPP && err.stage == SPROUT_STAGE_LANDLOCK &&
              strstr(err.message, "Landlock is not enabled in this kernel"),
          "flags %u: %d %s", flags, rc, err.message);
  }
  remove_dir(dir);
}

/* A paused process is restricted already: nothing it opens after the start escapes. */
TEST(a_paused_sandboxed_process_runs_sandboxed) {
  need_landlock();
  char dir[512];
  make_dir(dir, sizeof dir);
  int ruleset = sandbox(dir, NULL, 0);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a.flags2 = SPROUT_EXEC2_LANDLOCK | SPROUT_EXEC2_PAUSED;
  a.landlock_ruleset_fd = ruleset;
  const char *args[] = {"open", "/etc/passwd", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  /* No ruleset fd left in the paused process: only its program's fds and its socket. */
  int fds = 0;
  char path[64];
  for (int fd = 0; fd < 64; fd++) {
    snprintf(path, sizeof path, "/proc/%d/fd/%d", p.pid, fd);
    char target[128];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) continue;
    target[n] = 0;
    fds++;
    CHECK(!strstr(target, "landlock"), "fd %d is %s", fd, target);
  }
  CHECK(fds == 4, "%d fds", fds);
  CHECK_OK(sprout_start(p.pid, &err), &err);
  char *out = read_all(p.from_stdout);
  finish_probe(&p);
  remove_dir(dir);
  CHECK(!strncmp(field(out, "open"), "errno 13", 8), "%s", out);
}

int main(void) {
  RUN(the_kernel_tells_its_landlock_abi);
  RUN(a_sandboxed_child_keeps_to_its_files_ports_and_domain);
  RUN(an_unprivileged_caller_sandboxes_as_root_does);
  RUN(the_same_request_without_landlock_reaches_everything);
  RUN(without_no_new_privs_the_restriction_needs_cap_sys_admin);
  RUN(restrict_flags_and_fds_are_checked);
  RUN(ruleset_requests_are_checked_and_named);
  RUN(a_file_rule_keeps_the_rights_of_a_file);
  RUN(without_landlock_both_modes_say_so);
  RUN(a_paused_sandboxed_process_runs_sandboxed);
  return summary();
}
