/*
 * Bad input, table-driven: each row is one call the library must refuse. Every row checks the
 * return value and err (errno, stage, the stage's name and the errno's text in the message,
 * and a culprit: the field, index, fd, path or id at fault), and that the caller is left
 * exactly as it was: its fds and their flags, no child or zombie, its signal mask and
 * handlers, ids, groups, capabilities, rlimits, umask, cwd, dumpable flag, namespaces,
 * process group and session. Each row runs as a test process of its own, set up first with a
 * caller state that is not the default (a blocked signal, a handler, an ignored signal, umask
 * 027, a lowered RLIMIT_NOFILE, supplementary groups, a cwd of its own).
 *
 * Rows refused before any process exists are stage ARGS; the others fail in the child, at the
 * stage of the step the kernel refused.
 */
#include "caller_state.h"
#include "core_util.h"

#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static void on_usr1(int sig) { (void)sig; }

/* A caller state that is not what a fresh process has, so that a call that reset something
 * to a default would show. */
static void unusual_caller_state(void) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR2);
  sigaddset(&blocked, SIGWINCH);
  CHECK(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0, "sigprocmask");
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  action.sa_flags = SA_RESTART;
  sigaddset(&action.sa_mask, SIGTERM);
  CHECK(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction");
  CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR, "signal");
  umask(027);
  CHECK(chdir(temp_root) == 0, "chdir %s", temp_root);
  struct rlimit files;
  CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0, "getrlimit");
  files.rlim_cur = files.rlim_max < 900 ? files.rlim_max : 900;
  CHECK(setrlimit(RLIMIT_NOFILE, &files) == 0, "setrlimit");
  if (geteuid() == 0) {
    gid_t groups[] = {4242, 4343};
    CHECK(setgroups(2, groups) == 0, "setgroups: %s", strerror(errno));
  }
}

/* ---- the rows ---------------------------------------------------------------------------- */

/* One call: the arguments the row's setup changes, then what the library must answer. */
typedef struct call {
  sprout_exec_args a;
  const sprout_exec_args *args; /* &a unless the row says otherwise */
  int32_t fds[8];
  const int32_t *fds_ptr;       /* fds unless the row says otherwise */
  size_t fds_len;
  sprout_process proc;
  sprout_process *out;          /* &proc unless the row says otherwise */
  const char *argv[8];
} call;

typedef struct row {
  const char *name;
  void (*setup)(call *c);
  int code;
  unsigned stage;
  const char *culprit; /* NULL: the row's setup sets `culprit` itself */
  int needs_root;
} row;

static char culprit[512]; /* for culprits known only once set up (fds, paths) */

/* Storage that outlives a row's setup; 16-byte aligned, so +1 is misaligned. */
static union {
  long double align;
  unsigned char bytes[1 << 16];
} scratch;

#define MISALIGNED(type) ((type)(void *)(scratch.bytes + 1))

static int closed_fd(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open /dev/null");
  close(fd);
  return fd;
}

/* Writes `text` to temp_root/name with `mode`; returns the path. */
static const char *temp_file(const char *name, const char *text, mode_t mode) {
  char *path = temp_path(name);
  write_file(path, text, strlen(text), mode);
  return path;
}

static void null_args(call *c) { c->args = NULL; }
static void misaligned_args(call *c) { c->args = MISALIGNED(const sprout_exec_args *); }
static void size_zero(call *c) { c->a.size = 0; }
/* Below 1.0's size whatever the header (ABI 1.1 reads any size from 1.0's up). */
static void size_below_v1(call *c) { c->a.size = offsetof(sprout_exec_args, container_id); }
static void size_above_a_page(call *c) {
  memcpy(scratch.bytes, &c->a, sizeof c->a);
  ((sprout_exec_args *)(void *)scratch.bytes)->size = 4097;
  c->args = (const sprout_exec_args *)(void *)scratch.bytes;
}
static void nonzero_tail(call *c) {
  memcpy(scratch.bytes, &c->a, sizeof c->a);
  ((sprout_exec_args *)(void *)scratch.bytes)->size = sizeof c->a + 16;
  scratch.bytes[sizeof c->a + 9] = 1;
  c->args = (const sprout_exec_args *)(void *)scratch.bytes;
  snprintf(culprit, sizeof culprit, "byte %zu", sizeof c->a + 9);
}
static void unknown_flag(call *c) { c->a.flags = 1u << 31; }
static void null_argv(call *c) { c->a.argv = NULL; }
static void empty_argv(call *c) {
  c->argv[0] = NULL;
  c->a.argv = c->argv;
}
static void empty_argv0(call *c) { c->argv[0] = ""; }
static void empty_filename(call *c) { c->a.filename = ""; c->a.exec_fd = -1; c->argv[0] = ""; }
static void misaligned_argv(call *c) { c->a.argv = MISALIGNED(const char *const *); }
static void misaligned_envv(call *c) { c->a.envv = MISALIGNED(const char *const *); }
static void null_fds_with_length(call *c) { c->fds_ptr = NULL; }
static void misaligned_fds(call *c) { c->fds_ptr = MISALIGNED(const int32_t *); }
static void closed_fd_in_fds(call *c) {
  c->fds[3] = closed_fd();
  c->fds_len = 4;
  snprintf(culprit, sizeof culprit, "fds[3] = %d", c->fds[3]);
}
static void negative_fd_in_fds(call *c) { c->fds[1] = -7; }
static void two_terminals(call *c) {
  int m1, s1, m2, s2;
  CHECK(sprout_openpty(&m1, &s1, 24, 80) == 0 && sprout_openpty(&m2, &s2, 24, 80) == 0, "openpty");
  c->fds[0] = s1;
  c->fds[1] = s2;
}
static void exec_fd_and_filename(call *c) {
  c->a.exec_fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  c->a.filename = probe_path();
}
static void exec_fd_negative(call *c) { c->a.exec_fd = -2; }
static void exec_fd_closed(call *c) {
  c->a.exec_fd = closed_fd();
  snprintf(culprit, sizeof culprit, "exec_fd %d", c->a.exec_fd);
}
static void umask_too_wide(call *c) { c->a.umask = 01777; }
static void death_signal_65(call *c) { c->a.parent_death_signal = 65; }
static void death_signal_negative(call *c) { c->a.parent_death_signal = -1; }

static sprout_credentials creds;
static void uid_minus_one(call *c) {
  creds = (sprout_credentials){.uid = UINT32_MAX, .gid = 0};
  c->a.credentials = &creds;
}
static void gid_minus_one(call *c) {
  creds = (sprout_credentials){.uid = 0, .gid = UINT32_MAX};
  c->a.credentials = &creds;
}
static void group_minus_one(call *c) {
  static const uint32_t groups[] = {1, UINT32_MAX};
  creds = (sprout_credentials){.uid = 0, .gid = 0, .extra_gids = groups, .extra_gids_len = 2};
  c->a.credentials = &creds;
}
static void too_many_groups(call *c) {
  static uint32_t groups[65537];
  creds = (sprout_credentials){.uid = 0, .gid = 0, .extra_gids = groups, .extra_gids_len = 65537};
  c->a.credentials = &creds;
}
static void null_groups_with_length(call *c) {
  creds = (sprout_credentials){.uid = 0, .gid = 0, .extra_gids = NULL, .extra_gids_len = 2};
  c->a.credentials = &creds;
}
static void misaligned_credentials(call *c) { c->a.credentials = MISALIGNED(const sprout_credentials *); }

static sprout_capabilities caps;
static unsigned last_cap(void) {
  char *text = read_file("/proc/sys/kernel/cap_last_cap");
  CHECK(text != NULL, "cap_last_cap");
  unsigned last = (unsigned)atoi(text);
  free(text);
  return last;
}
static void cap_above_last(call *c) {
  unsigned bit = last_cap() + 1;
  caps = (sprout_capabilities){.bounding = UINT64_C(1) << bit};
  c->a.capabilities = &caps;
  snprintf(culprit, sizeof culprit, "capabilities.bounding: bit %u", bit);
}
static void effective_outside_permitted(call *c) {
  caps = (sprout_capabilities){.effective = 1u << CAP_NET_RAW, .permitted = 0, .bounding = ~UINT64_C(0) >> (63 - last_cap())};
  c->a.capabilities = &caps;
}
static void ambient_outside_inheritable(call *c) {
  caps = (sprout_capabilities){.permitted = 1u << CAP_NET_RAW, .ambient = 1u << CAP_NET_RAW,
                               .bounding = ~UINT64_C(0) >> (63 - last_cap())};
  c->a.capabilities = &caps;
}
static void misaligned_capabilities(call *c) { c->a.capabilities = MISALIGNED(const sprout_capabilities *); }

static sprout_rlimit limits[2];
static void unknown_resource(call *c) {
  limits[0] = (sprout_rlimit){.resource = 99, .soft = 1, .hard = 1};
  c->a.limits = limits;
  c->a.limits_len = 1;
}
static void soft_above_hard(call *c) {
  limits[0] = (sprout_rlimit){.resource = RLIMIT_CORE, .soft = 2, .hard = 1};
  c->a.limits = limits;
  c->a.limits_len = 1;
}
static void resource_twice(call *c) {
  limits[0] = (sprout_rlimit){.resource = RLIMIT_CORE, .soft = 0, .hard = 0};
  limits[1] = (sprout_rlimit){.resource = RLIMIT_CORE, .soft = 0, .hard = 0};
  c->a.limits = limits;
  c->a.limits_len = 2;
}
static void null_limits_with_length(call *c) { c->a.limits_len = 1; }
static void misaligned_limits(call *c) {
  c->a.limits = MISALIGNED(const sprout_rlimit *);
  c->a.limits_len = 1;
}
static void nofile_above_nr_open(call *c) {
  char *text = read_file("/proc/sys/fs/nr_open");
  CHECK(text != NULL, "nr_open");
  uint64_t above = strtoull(text, NULL, 10) + 1;
  free(text);
  limits[0] = (sprout_rlimit){.resource = RLIMIT_NOFILE, .soft = above, .hard = above};
  c->a.limits = limits;
  c->a.limits_len = 1;
}

static struct sock_filter long_filter[4097];
static void filter_too_long(call *c) {
  c->a.seccomp_filter = long_filter;
  c->a.seccomp_filter_len = 4097;
}
static void null_filter_with_length(call *c) { c->a.seccomp_filter_len = 1; }
static void misaligned_filter(call *c) {
  c->a.seccomp_filter = scratch.bytes + 1;
  c->a.seccomp_filter_len = 1;
}
static void filter_the_kernel_rejects(call *c) {
  /* A jump past the end of the program. */
  static struct sock_filter bad[] = {
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 5),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  c->a.seccomp_filter = bad;
  c->a.seccomp_filter_len = 2;
}

static sprout_namespace ns[3];
static void set_ns(call *c, size_t n) {
  c->a.namespaces = ns;
  c->a.namespaces_len = n;
}
static void unknown_ns_type(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWNET, -1};
  ns[1] = (sprout_namespace){0x1234, -1};
  set_ns(c, 2);
}
static void two_ns_types_in_one(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWNET | CLONE_NEWUTS, -1};
  set_ns(c, 1);
}
static void ns_type_twice(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUTS, -1};
  ns[1] = (sprout_namespace){CLONE_NEWUTS, -1};
  set_ns(c, 2);
}
static void ns_fd_of_another_type(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUTS, open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
  set_ns(c, 1);
}
static void ns_fd_not_a_namespace(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWNET, open("/dev/null", O_RDONLY | O_CLOEXEC)};
  set_ns(c, 1);
}
static void ns_fd_closed(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWNET, closed_fd()};
  set_ns(c, 1);
  snprintf(culprit, sizeof culprit, "namespaces[0].fd = %d", ns[0].fd);
}
static void ns_fd_negative(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWNET, -5};
  set_ns(c, 1);
}
static void null_namespaces_with_length(call *c) { c->a.namespaces_len = 1; }
static void misaligned_namespaces(call *c) {
  c->a.namespaces = MISALIGNED(const sprout_namespace *);
  c->a.namespaces_len = 1;
}

static sprout_id_map maps[2];
static void map_without_user_ns(call *c) {
  maps[0] = (sprout_id_map){0, 100000, 1};
  c->a.uid_map = maps;
  c->a.uid_map_len = 1;
}
static void misaligned_map(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUSER, -1};
  set_ns(c, 1);
  c->a.gid_map = MISALIGNED(const sprout_id_map *);
  c->a.gid_map_len = 1;
}
static void joined_time_ns_with_maps(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUSER, -1};
  ns[1] = (sprout_namespace){CLONE_NEWTIME, open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC)};
  set_ns(c, 2);
  maps[0] = (sprout_id_map){0, 100000, 1};
  c->a.uid_map = maps;
  c->a.uid_map_len = 1;
}
static void map_the_kernel_refuses(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUSER, -1};
  set_ns(c, 1);
  maps[0] = (sprout_id_map){0, 100000, 1000};
  maps[1] = (sprout_id_map){1000, UINT32_MAX, 1};
  c->a.uid_map = maps;
  c->a.uid_map_len = 2;
}

static void cgroup_fd_not_cgroup2(call *c) { c->a.cgroup_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }
static void cgroup_fd_closed(call *c) {
  c->a.cgroup_fd = closed_fd();
  snprintf(culprit, sizeof culprit, "cgroup_fd %d", c->a.cgroup_fd);
}
static void cgroup_fd_negative(call *c) { c->a.cgroup_fd = -3; }
static void removed_cgroup(call *c) {
  char mount_point[PATH_MAX], root[PATH_MAX], path[2 * PATH_MAX + 64];
  CHECK(cgroup2_mount(mount_point, sizeof mount_point, root, sizeof root), "no cgroup2 mount");
  snprintf(path, sizeof path, "%s/sprout-bad-input-%d", mount_point, getpid());
  CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
  c->a.cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(rmdir(path) == 0, "rmdir %s: %s", path, strerror(errno));
  snprintf(culprit, sizeof culprit, "cgroup_fd %d", c->a.cgroup_fd);
}

static void container_id_not_utf8(call *c) { c->a.container_id = "bad\xff\xfe"; }
static void null_out(call *c) { c->out = NULL; }
static void misaligned_out(call *c) { c->out = MISALIGNED(sprout_process *); }

/* Failing in the child, at its own stage. */
static void missing_working_directory(call *c) {
  c->a.working_directory = temp_path("no-such-dir");
  snprintf(culprit, sizeof culprit, "chdir: %s", c->a.working_directory);
}
static void working_directory_a_file(call *c) {
  c->a.working_directory = temp_file("plain", "x", 0644);
  snprintf(culprit, sizeof culprit, "chdir: %s", c->a.working_directory);
}
static void missing_program(call *c) {
  c->a.filename = temp_path("no-such-program");
  snprintf(culprit, sizeof culprit, "exec: %s", c->a.filename);
}
static void program_not_executable(call *c) {
  c->a.filename = temp_file("not-executable", "#!/bin/sh\n", 0644);
  snprintf(culprit, sizeof culprit, "exec: %s", c->a.filename);
}
static void program_of_no_known_format(call *c) {
  c->a.filename = temp_file("garbage", "\x01\x02\x03 not a program\n", 0755);
  snprintf(culprit, sizeof culprit, "exec: %s", c->a.filename);
}
static void name_not_in_path(call *c) {
  static const char *const env[] = {"PATH=/nonexistent-a:/nonexistent-b", NULL};
  c->argv[0] = "sprout-no-such-program";
  c->a.envv = env;
}
static void exec_fd_a_directory(call *c) {
  c->a.exec_fd = open("/", O_PATH | O_CLOEXEC);
  snprintf(culprit, sizeof culprit, "exec_fd %d", c->a.exec_fd);
}
static void inheritable_outside_bounding(call *c) {
  uint64_t held = strtoull(status_of(getpid(), "CapPrm"), NULL, 16);
  CHECK(held & (UINT64_C(1) << CAP_NET_RAW), "the caller does not hold CAP_NET_RAW");
  caps = (sprout_capabilities){.permitted = held, .effective = 0,
                               .inheritable = UINT64_C(1) << CAP_NET_RAW,
                               .bounding = held & ~(UINT64_C(1) << CAP_NET_RAW)};
  c->a.capabilities = &caps;
}

/* After the credentials change in the child, which shares the caller's memory (and so the
 * dumpable flag the change sets). */
static void new_ids_then_missing_program(call *c) {
  creds = (sprout_credentials){.uid = 65534, .gid = 65534};
  c->a.credentials = &creds;
  c->a.filename = "/sprout-no-such-dir/program";
  snprintf(culprit, sizeof culprit, "exec: %s", c->a.filename);
}

/* Joining a user namespace the caller's euid does not own, then failing. Its holder is
 * unshare(1) run as uid 65534 (exec'd, so that a sanitizer's threads in a forked copy of this
 * process cannot make unshare(CLONE_NEWUSER) fail). */
static void foreign_user_namespace_then_missing_program(call *c) {
  ns[0] = (sprout_namespace){CLONE_NEWUSER, -1};
  pid_t holder = fork();
  CHECK(holder >= 0, "fork");
  if (holder == 0) {
    if (syscall(SYS_setresgid, 65534, 65534, 65534) == 0 &&
        syscall(SYS_setresuid, 65534, 65534, 65534) == 0)
      execlp("unshare", "unshare", "--user", "sleep", "100", (char *)NULL);
    _exit(127);
  }
  char path[64], own[64] = "", theirs[64] = "";
  CHECK(readlink("/proc/self/ns/user", own, sizeof own - 1) > 0, "readlink");
  snprintf(path, sizeof path, "/proc/%d/ns/user", holder);
  for (int tries = 0; tries < 1000 && (!theirs[0] || !strcmp(theirs, own)); tries++) {
    usleep(1000);
    memset(theirs, 0, sizeof theirs);
    if (readlink(path, theirs, sizeof theirs - 1) < 0) theirs[0] = 0;
  }
  CHECK(theirs[0] && strcmp(theirs, own), "the namespace holder did not unshare");
  ns[0].fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(ns[0].fd >= 0, "open %s", path);
  /* The fd keeps the namespace: the holder goes, so the caller has no child of its own. */
  kill(holder, SIGKILL);
  CHECK(waitpid(holder, NULL, 0) == holder, "waitpid");
  set_ns(c, 1);
  c->a.filename = "/sprout-no-such-dir/program";
  snprintf(culprit, sizeof culprit, "exec: %s", c->a.filename);
}

#define R(name, code, stage, culprit) {#name, name, code, SPROUT_STAGE_##stage, culprit, 0}
#define ROOT(name, code, stage, culprit) {#name, name, code, SPROUT_STAGE_##stage, culprit, 1}

static const row ROWS[] = {
    R(null_args, EINVAL, ARGS, "args is NULL"),
    R(misaligned_args, EINVAL, ARGS, "args is misaligned"),
    R(size_zero, EINVAL, ARGS, "args.size 0"),
    R(size_below_v1, EINVAL, ARGS, "args.size"),
    R(size_above_a_page, E2BIG, ARGS, "args.size 4097"),
    R(nonzero_tail, E2BIG, ARGS, NULL),
    R(unknown_flag, EINVAL, ARGS, "flags: unknown bits 0x80000000"),
    R(null_argv, EINVAL, ARGS, "argv is NULL"),
    R(empty_argv, EINVAL, ARGS, "argv is empty"),
    R(empty_argv0, EINVAL, ARGS, "argv[0] is empty"),
    R(empty_filename, EINVAL, ARGS, "argv[0] is empty"),
    R(misaligned_argv, EINVAL, ARGS, "argv is misaligned"),
    R(misaligned_envv, EINVAL, ARGS, "envv is misaligned"),
    R(null_fds_with_length, EINVAL, ARGS, "fds is NULL with fds_len 3"),
    R(misaligned_fds, EINVAL, ARGS, "fds is misaligned"),
    R(closed_fd_in_fds, EBADF, ARGS, NULL),
    R(negative_fd_in_fds, EBADF, ARGS, "fds[1] = -7"),
    R(two_terminals, EINVAL, ARGS, "fds[1]"),
    R(exec_fd_and_filename, EINVAL, ARGS, "filename must be NULL"),
    R(exec_fd_negative, EBADF, ARGS, "exec_fd -2"),
    R(exec_fd_closed, EBADF, ARGS, NULL),
    R(umask_too_wide, EINVAL, ARGS, "umask 1777"),
    R(death_signal_65, EINVAL, ARGS, "parent_death_signal 65"),
    R(death_signal_negative, EINVAL, ARGS, "parent_death_signal -1"),
    R(uid_minus_one, EINVAL, ARGS, "credentials.uid is 4294967295"),
    R(gid_minus_one, EINVAL, ARGS, "credentials.gid is 4294967295"),
    R(group_minus_one, EINVAL, ARGS, "credentials.extra_gids[1]"),
    R(too_many_groups, EINVAL, ARGS, "credentials.extra_gids_len 65537"),
    R(null_groups_with_length, EINVAL, ARGS, "credentials.extra_gids is NULL with credentials.extra_gids_len 2"),
    R(misaligned_credentials, EINVAL, ARGS, "credentials is misaligned"),
    R(cap_above_last, EINVAL, ARGS, NULL),
    R(effective_outside_permitted, EINVAL, ARGS, "capabilities.effective: CAP_NET_RAW"),
    R(ambient_outside_inheritable, EINVAL, ARGS, "capabilities.ambient: CAP_NET_RAW"),
    R(misaligned_capabilities, EINVAL, ARGS, "capabilities is misaligned"),
    R(unknown_resource, EINVAL, ARGS, "limits[0]: unknown resource 99"),
    R(soft_above_hard, EINVAL, ARGS, "limits[0]: RLIMIT_CORE soft limit 2"),
    R(resource_twice, EINVAL, ARGS, "limits[1]: RLIMIT_CORE is already set by limits[0]"),
    R(null_limits_with_length, EINVAL, ARGS, "limits is NULL with limits_len 1"),
    R(misaligned_limits, EINVAL, ARGS, "limits is misaligned"),
    R(filter_too_long, EINVAL, ARGS, "seccomp_filter_len 4097"),
    R(null_filter_with_length, EINVAL, ARGS, "seccomp_filter is NULL with seccomp_filter_len 1"),
    R(misaligned_filter, EINVAL, ARGS, "seccomp_filter is misaligned"),
    R(unknown_ns_type, EINVAL, ARGS, "namespaces[1].type = 0x1234"),
    R(two_ns_types_in_one, EINVAL, ARGS, "namespaces[0].type"),
    R(ns_type_twice, EINVAL, ARGS, "namespaces[1]: a second uts namespace"),
    R(ns_fd_of_another_type, EINVAL, ARGS, "is a net namespace, not uts"),
    R(ns_fd_not_a_namespace, EINVAL, ARGS, "is not a namespace file"),
    R(ns_fd_closed, EBADF, ARGS, NULL),
    R(ns_fd_negative, EBADF, ARGS, "namespaces[0].fd = -5"),
    R(null_namespaces_with_length, EINVAL, ARGS, "namespaces is NULL with namespaces_len 1"),
    R(misaligned_namespaces, EINVAL, ARGS, "namespaces is misaligned"),
    R(map_without_user_ns, EINVAL, ARGS, "uid_map"),
    R(misaligned_map, EINVAL, ARGS, "gid_map is misaligned"),
    R(joined_time_ns_with_maps, EINVAL, ARGS, "time namespace"),
    R(cgroup_fd_not_cgroup2, EINVAL, ARGS, "is not a cgroup2 directory"),
    R(cgroup_fd_closed, EBADF, ARGS, NULL),
    R(cgroup_fd_negative, EBADF, ARGS, "cgroup_fd -3"),
    R(container_id_not_utf8, EINVAL, ARGS, "container_id"),
    R(null_out, EINVAL, ARGS, "out is NULL"),
    R(misaligned_out, EINVAL, ARGS, "out is misaligned"),
    /* In the child. */
    R(missing_working_directory, ENOENT, CHDIR, NULL),
    R(working_directory_a_file, ENOTDIR, CHDIR, NULL),
    R(missing_program, ENOENT, EXEC, NULL),
    R(program_not_executable, EACCES, EXEC, NULL),
    R(program_of_no_known_format, ENOEXEC, EXEC, NULL),
    R(name_not_in_path, ENOENT, EXEC, "sprout-no-such-program"),
    R(exec_fd_a_directory, EACCES, EXEC, NULL),
    R(filter_the_kernel_rejects, EINVAL, SECCOMP, "seccomp_filter of 2 instructions"),
    ROOT(nofile_above_nr_open, EPERM, RLIMITS, "limits[0] RLIMIT_NOFILE"),
    ROOT(inheritable_outside_bounding, EPERM, CAPABILITIES, "inheritable CAP_NET_RAW (13)"),
    ROOT(map_the_kernel_refuses, EINVAL, NAMESPACES, "uid_map[1] = 1000 4294967295 1"),
    ROOT(removed_cgroup, ENOENT, CGROUP, NULL),
    ROOT(new_ids_then_missing_program, ENOENT, EXEC, NULL),
    ROOT(foreign_user_namespace_then_missing_program, ENOENT, EXEC, NULL),
};
#define NROWS (sizeof ROWS / sizeof ROWS[0])

static const row *current;

static void run_row(void) {
  const row *r = current;
  if (r->needs_root) need_root();
  unusual_caller_state();
  call c;
  memset(&c, 0, sizeof c);
  sprout_exec_args_init(&c.a);
  c.argv[0] = probe_path();
  c.argv[1] = "exit";
  c.argv[2] = "0";
  c.a.argv = c.argv;
  c.args = &c.a;
  c.fds[0] = 0;
  c.fds[1] = 1;
  c.fds[2] = 2;
  c.fds_ptr = c.fds;
  c.fds_len = 3;
  c.out = &c.proc;
  culprit[0] = 0;
  r->setup(&c);
  const char *want = r->culprit ? r->culprit : culprit;
  CHECK(want[0], "%s: no culprit to look for", r->name);

  caller_state before;
  snapshot(&before);
  sprout_error err;
  memset(&err, 0x5a, sizeof err);
  int rc = sprout_exec_async(c.args, c.fds_ptr, c.fds_len, c.out, &err);
  if (rc == 0) sprout_wait(c.proc.pid, -1, NULL, NULL);
  printf("# %s\n", err.message);
  CHECK(rc == -r->code, "%s: returned %d (%s), not -%d (%s)", r->name, rc, rc ? err.message : "",
        r->code, strerror(r->code));
  CHECK(err.code == r->code && err.stage == r->stage, "%s: err says %d in stage %s, not %d in %s (%s)",
        r->name, err.code, sprout_stage_name(err.stage), r->code, sprout_stage_name(r->stage),
        err.message);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "%s: ", sprout_stage_name(r->stage));
  CHECK(!strncmp(err.message, prefix, strlen(prefix)), "%s: message \"%s\" does not start with \"%s\"",
        r->name, err.message, prefix);
  CHECK(strstr(err.message, strerror(r->code)), "%s: message \"%s\" lacks \"%s\"", r->name,
        err.message, strerror(r->code));
  CHECK(strstr(err.message, want), "%s: message \"%s\" does not name \"%s\"", r->name, err.message,
        want);
  CHECK(c.proc.pid == 0 && c.proc.tty == NULL, "%s: out was written", r->name);
  check_unchanged(r->name, &before);
}

int main(void) {
  temp_root_create("bad-input");
  for (size_t i = 0; i < NROWS; i++) {
    current = &ROWS[i];
    run_test(ROWS[i].name, run_row);
  }
  temp_root_remove();
  return summary();
}
