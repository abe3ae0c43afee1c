/*
 * Guarantees of SECURITY.md that no other test file proves, each seen from outside: the
 * caller's whole state around a successful spawn that sets everything and around a paused
 * start, a working directory that names a caller's fd through /proc/self/fd (the
 * CVE-2024-21626 pattern), the privileged ABI 1.1 steps before a change to a non-root uid,
 * the dumpable flag of a copy forked during a spawn with credentials, and clone3 answering
 * EINVAL as on Linux 5.3 to 5.6.
 */
#include "caller_state.h"
#include "core_util.h"

#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>

static void on_usr1(int sig) { (void)sig; }

/* A caller state that is not what a fresh process has, so that a spawn that reset something
 * to a default, or changed it for the caller, would show. */
static void unusual_caller_state(void) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0, "sigprocmask");
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction");
  CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR, "signal");
  umask(027);
  CHECK(chdir(temp_root) == 0, "chdir %s", temp_root);
  gid_t groups[] = {4242, 4343};
  CHECK(setgroups(2, groups) == 0, "setgroups: %s", strerror(errno));
}

/* A probe in "report wait" under `a`, its report checked by `check`, then released and
 * waited for: its status must be 0. */
static void run_and_check(sprout_exec_args *a, void (*check)(int pid, const char *report)) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, (const char *const[]){"report", "wait", NULL}, &p, &err), &err);
  char *report = read_report(&p);
  check(p.pid, report);
  free(report);
  int status = finish_probe(&p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

/* Whether /proc/PID/NAME (a namespace link) differs from the caller's. */
static int in_another(int pid, const char *name) {
  char mine[128];
  snprintf(mine, sizeof mine, "%s", proc_link(getpid(), name));
  return strcmp(proc_link(pid, name), mine) != 0;
}

static void is_the_full_profile(int pid, const char *report) {
  CHECK(!strcmp(status_of(pid, "Uid"), "1000\t1000\t1000\t1000"), "Uid %s", status_of(pid, "Uid"));
  int group = 0, more = 0;
  CHECK(sscanf(status_of(pid, "Groups"), "%d %d", &group, &more) == 1 && group == 1001, "Groups %s",
        status_of(pid, "Groups"));
  CHECK(!strcmp(status_of(pid, "NoNewPrivs"), "1"), "NoNewPrivs %s", status_of(pid, "NoNewPrivs"));
  CHECK(!strcmp(status_of(pid, "Seccomp"), "2"), "Seccomp %s", status_of(pid, "Seccomp"));
  CHECK(!strcmp(status_of(pid, "Umask"), "0077"), "Umask %s", status_of(pid, "Umask"));
  CHECK(!strcmp(proc_link(pid, "cwd"), "/tmp"), "cwd %s", proc_link(pid, "cwd"));
  (void)report;
  char *limits = proc_file(pid, "limits");
  const char *files = limits ? strstr(limits, "Max open files") : NULL;
  unsigned long soft = 0, hard = 0;
  CHECK(files && sscanf(files, "Max open files %lu %lu", &soft, &hard) == 2 && soft == 50 && hard == 60,
        "/proc/%d/limits:\n%s", pid, limits ? limits : "(unreadable)");
  free(limits);
  CHECK(in_another(pid, "ns/uts"), "not in a new UTS namespace");
  CHECK(in_another(pid, "ns/pid"), "not in a new PID namespace");
  CHECK(!in_another(pid, "ns/net"), "not in the joined (the caller's) net namespace");
}

static void is_in_a_mapped_user_namespace(int pid, const char *report) {
  (void)report;
  CHECK(in_another(pid, "ns/user"), "not in a new user namespace");
  CHECK(!strcmp(status_of(pid, "Uid"), "100000\t100000\t100000\t100000"), "Uid %s", status_of(pid, "Uid"));
}

/* Every kind of property a spawn sets, and the caller's whole state (c-tests/caller_state.h)
 * is what it was: ids, groups, capabilities, no_new_privs, seccomp, signal mask and
 * handlers, rlimits, umask, cwd, dumpable flag, namespaces, fds, no child left. */
TEST(a_spawn_that_sets_every_property_leaves_the_callers_state_as_it_was) {
  need_root();
  unusual_caller_state();
  caller_state before;
  snapshot(&before);

  /* Credentials, capabilities, rlimits, umask, cwd, namespaces new and joined, a hostname,
   * no_new_privs with a filter, a parent-death signal, a signal mask. */
  int own_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  CHECK(own_net >= 0, "open /proc/self/ns/net: %s", strerror(errno));
  sprout_namespace namespaces[] = {{CLONE_NEWUTS, -1}, {CLONE_NEWIPC, -1}, {CLONE_NEWPID, -1},
                                   {CLONE_NEWNS, -1}, {CLONE_NEWNET, own_net}};
  const uint32_t groups[] = {1001};
  sprout_credentials c = {.uid = 1000, .gid = 1000, .extra_gids = groups, .extra_gids_len = 1};
  sprout_capabilities caps = {0};
  sprout_rlimit limits[] = {{.resource = RLIMIT_NOFILE, .soft = 50, .hard = 60}};
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a.credentials = &c;
  a.capabilities = &caps;
  a.limits = limits;
  a.limits_len = 1;
  a.umask = 077;
  a.working_directory = "/tmp";
  a.namespaces = namespaces;
  a.namespaces_len = sizeof namespaces / sizeof namespaces[0];
  a.hostname = "sprout-guarantees";
  a.seccomp_filter = allow;
  a.seccomp_filter_len = 1;
  a.parent_death_signal = SIGKILL;
  a.sigmask = UINT64_C(1) << (SIGUSR2 - 1);
  run_and_check(&a, is_the_full_profile);
  close(own_net);
  check_unchanged("a spawn with every property", &before);

  /* A child that waits for the caller: a new user namespace whose maps the caller writes. */
  sprout_exec_args_init(&a);
  sprout_namespace user = {CLONE_NEWUSER, -1};
  sprout_id_map map = {0, 100000, 65536};
  a.namespaces = &user;
  a.namespaces_len = 1;
  a.uid_map = &map;
  a.uid_map_len = 1;
  a.gid_map = &map;
  a.gid_map_len = 1;
  sprout_credentials inside = {.uid = 0, .gid = 0, .extra_gids = NULL, .extra_gids_len = 0};
  a.credentials = &inside;
  a.working_directory = "/tmp";
  run_and_check(&a, is_in_a_mapped_user_namespace);
  check_unchanged("a spawn with id maps", &before);
}

/* A paused start (ABI 1.1) holds a child that shares the caller's memory for as long as the
 * caller likes: with credentials, whose change would clear the memory's dumpable flag, and
 * new namespaces. While it is paused the caller keeps its dumpable flag, its namespaces, ids
 * and signal state; once it has run, the caller's whole state is what it was. */
TEST(a_paused_start_leaves_the_callers_state_as_it_was) {
  need_root();
  unusual_caller_state();
  caller_state before;
  snapshot(&before);
  sprout_namespace namespaces[] = {{CLONE_NEWUTS, -1}, {CLONE_NEWPID, -1}};
  sprout_credentials c = {.uid = 1000, .gid = 1000, .extra_gids = NULL, .extra_gids_len = 0};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PAUSED;
  a.credentials = &c;
  a.namespaces = namespaces;
  a.namespaces_len = 2;
  a.hostname = "paused";
  a.working_directory = "/tmp";
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, (const char *const[]){"report", "wait", NULL}, &p, &err), &err);
  CHECK(!strcmp(status_of(p.pid, "Uid"), "1000\t1000\t1000\t1000"), "paused: Uid %s", status_of(p.pid, "Uid"));
  /* Long enough for any step still under way to show. */
  usleep(100 * 1000);
  CHECK(prctl(PR_GET_DUMPABLE) == before.dumpable, "while paused the caller's dumpable flag is %d",
        prctl(PR_GET_DUMPABLE));
  caller_state paused;
  snapshot(&paused);
  for (size_t i = 0; i < NKEYS; i++)
    CHECK(!strcmp(before.status[i], paused.status[i]), "while paused the caller's %s is %s, was %s",
          STATUS_KEYS[i], paused.status[i], before.status[i]);
  for (size_t i = 0; i < NNS; i++)
    CHECK(!strcmp(before.ns[i], paused.ns[i]), "while paused the caller's %s is %s", OWN_NS[i], paused.ns[i]);
  CHECK(!strcmp(before.cwd, paused.cwd), "while paused the caller's cwd is %s", paused.cwd);
  free(paused.fds);
  CHECK_OK(sprout_start(p.pid, &err), &err);
  char *report = read_report(&p);
  CHECK(!strcmp(field(report, "cwd"), "/tmp"), "cwd %s", field(report, "cwd"));
  free(report);
  int status = finish_probe(&p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  check_unchanged("a paused start", &before);
}

/* ---- /proc/self/fd/N as the working directory --------------------------------------------- */

/* A process that holds a mount namespace of its own, with a tmpfs on `dir` the caller's does
 * not have; the pipe's byte says it is ready. */
static pid_t mount_namespace_holder(const char *dir) {
  int ready[2];
  CHECK(pipe2(ready, O_CLOEXEC) == 0, "pipe2");
  pid_t holder = fork();
  CHECK(holder >= 0, "fork");
  if (holder == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("none", dir, "tmpfs", 0, NULL) != 0)
      _exit(1);
    CHECK(write(ready[1], "", 1) == 1, "write");
    pause();
    _exit(0);
  }
  char byte;
  CHECK(read(ready[0], &byte, 1) == 1, "the holder could not set up its mount namespace");
  close(ready[0]);
  close(ready[1]);
  return holder;
}

/* CVE-2024-21626: runc left an fd of a host directory open in the container's process, and a
 * working directory of /proc/self/fd/N resolved through it, outside the container. Every fd
 * outside the layout is closed before the working directory is entered: such a path finds
 * nothing, with or without a joined mount namespace. The same path does reach an fd of the
 * layout, so the refusal is the closing, not the path. */
TEST(a_working_directory_through_proc_self_fd_reaches_no_fd_outside_the_layout) {
  need_root();
  char *host_dir = temp_dir("host-only");
  int dir = open(host_dir, O_RDONLY | O_DIRECTORY); /* inheritable, as runc's was */
  CHECK(dir >= 0, "open %s: %s", host_dir, strerror(errno));
  char through_fd[64];
  snprintf(through_fd, sizeof through_fd, "/proc/self/fd/%d", dir);
  const char *args[] = {"report", "wait", NULL};
  probe p;
  sprout_error err;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.working_directory = through_fd;
  CHECK_FAILS(start_probe(&a, args, &p, &err), &err, ENOENT, SPROUT_STAGE_CHDIR);
  CHECK_MESSAGE_HAS(&err, through_fd);

  char *mnt = temp_dir("mnt");
  pid_t holder = mount_namespace_holder(mnt);
  char ns_path[64];
  snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/mnt", (int)holder);
  int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
  CHECK(ns >= 0, "open %s: %s", ns_path, strerror(errno));
  sprout_namespace join = {CLONE_NEWNS, ns};
  a.namespaces = &join;
  a.namespaces_len = 1;
  CHECK_FAILS(start_probe(&a, args, &p, &err), &err, ENOENT, SPROUT_STAGE_CHDIR);
  CHECK_MESSAGE_HAS(&err, through_fd);

  /* The fd given as fd 3 of the layout: the path reaches it (here, where it is asked for). */
  a.working_directory = "/proc/self/fd/3";
  int32_t extra[] = {dir};
  CHECK_OK(start_probe_fds(&a, args, extra, 1, &p, &err), &err);
  char *report = read_report(&p);
  CHECK(!strcmp(proc_link(p.pid, "cwd"), host_dir), "cwd %s, not %s", proc_link(p.pid, "cwd"), host_dir);
  free(report);
  finish_probe(&p);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  close(ns);
  close(dir);
}

/* ---- privileged ABI 1.1 steps before a change to a non-root uid ------------------------------ */

static sprout_credentials user_1000 = {.uid = 1000, .gid = 1000, .extra_gids = NULL, .extra_gids_len = 0};

static probe waiting_as_1000(sprout_exec_args *a) {
  a->credentials = &user_1000;
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  CHECK(!strcmp(status_of(p.pid, "Uid"), "1000\t1000\t1000\t1000"), "Uid %s", status_of(p.pid, "Uid"));
  CHECK(!strcmp(status_of(p.pid, "CapEff"), "0000000000000000"), "CapEff %s", status_of(p.pid, "CapEff"));
  return p;
}

/* sethostname needs CAP_SYS_ADMIN, which uid 1000 has not: it must come before the uid. */
TEST(a_hostname_is_set_before_the_change_to_a_non_root_uid) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace uts = {CLONE_NEWUTS, -1};
  a.namespaces = &uts;
  a.namespaces_len = 1;
  a.hostname = "set-as-root";
  a.credentials = &user_1000;
  char *out = run_probe(&a, (const char *const[]){"cat", "/proc/sys/kernel/hostname", "cat",
                                                   "/proc/self/status", NULL});
  CHECK(strstr(out, "cat=set-as-root\n"), "the program read:\n%s", out);
  CHECK(strstr(out, "cat=Uid:\t1000\t1000\t1000\t1000\n"), "not uid 1000:\n%s", out);
  free(out);
}

/* A real-time policy and the real-time I/O class need CAP_SYS_NICE (CAP_SYS_ADMIN for the
 * I/O class on older kernels); RLIMIT_RTPRIO 0 leaves uid 1000 no other way to them. */
TEST(realtime_scheduling_is_set_before_the_change_to_a_non_root_uid) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_sched fifo = {.policy = SCHED_FIFO, .priority = 5};
  sprout_rlimit no_rtprio = {RLIMIT_RTPRIO, 0, 0};
  a.sched = &fifo;
  a.limits = &no_rtprio;
  a.limits_len = 1;
  a.ioprio_class = 1; /* IOPRIO_CLASS_RT */
  a.ioprio_level = 4;
  probe p = waiting_as_1000(&a);
  CHECK(sched_getscheduler(p.pid) == SCHED_FIFO, "policy %d", sched_getscheduler(p.pid));
  long prio = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, p.pid);
  CHECK(prio == (1 << 13 | 4), "ioprio %#lx", prio);
  finish_probe(&p);
}

/* chroot needs CAP_SYS_CHROOT. */
TEST(a_root_directory_is_entered_before_the_change_to_a_non_root_uid) {
  need_root();
  char *root = temp_dir("root");
  free(temp_dir("root/bin"));
  char *probe_copy = temp_path("root/bin/probe");
  copy_probe(probe_copy);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.root_directory = root;
  const char *argv[] = {"/bin/probe", "wait", NULL};
  a.argv = argv;
  a.credentials = &user_1000;
  int in[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0, "pipe2");
  int32_t fds[] = {in[0], 1, 2};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  close(in[0]);
  CHECK(!strcmp(proc_link(proc.pid, "root"), root), "root %s, not %s", proc_link(proc.pid, "root"), root);
  CHECK(!strcmp(status_of(proc.pid, "Uid"), "1000\t1000\t1000\t1000"), "Uid %s", status_of(proc.pid, "Uid"));
  close(in[1]);
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  free(probe_copy);
  free(root);
}

/* ---- the dumpable flag of a forked copy --------------------------------------------------- */

static int stop_spawning;

/* A copy forked while a spawn with credentials is under way inherits the memory's flag as
 * that child left it; the fork handler gives the copy its parent's own flag back. The
 * parent's flag is read as well, to see that the forks met spawns in flight. */
TEST(a_copy_forked_during_a_spawn_with_credentials_has_the_callers_dumpable_flag) {
  need_root();
  CHECK(prctl(PR_GET_DUMPABLE) == 1, "the test process is not dumpable");
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, spawn_as_nobody_until, &stop_spawning) == 0, "pthread_create");
  int forks = 0, wrong = 0;
  time_t start = time(NULL);
  while (forks < 3000 && time(NULL) - start < 20) {
    pid_t copy = fork();
    CHECK(copy >= 0, "fork: %s", strerror(errno));
    if (copy == 0) _exit(prctl(PR_GET_DUMPABLE) == 1 ? 0 : 1);
    int status;
    CHECK(waitpid(copy, &status, 0) == copy, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status), "copy %d: status %#x", forks, status);
    wrong += WEXITSTATUS(status) != 0;
    forks++;
  }
  FLAG_SET(stop_spawning, 1);
  pthread_join(thread, NULL);
  printf("# %d forks\n", forks);
  CHECK(wrong == 0, "%d of %d copies were not dumpable", wrong, forks);
  CHECK(prctl(PR_GET_DUMPABLE) == 1, "the caller is no longer dumpable");
}

/* ---- clone3 answering EINVAL ------------------------------------------------------------- */

/* Linux 5.3 to 5.6 have clone3 but not CLONE_CLEAR_SIGHAND (5.5) or CLONE_INTO_CGROUP (5.7),
 * which sprout asks for: clone3 answers EINVAL, and each spawn uses the legacy clone, with
 * the same result: the environment, umask and fds asked for, every handler of the caller
 * back to SIG_DFL. */
TEST(clone3_answering_einval_falls_back_to_clone) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction");
  CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR, "signal");
  refuse_clone3(EINVAL);
  for (int round = 0; round < 2; round++) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *envv[] = {"ROUND=x", NULL};
    a.envv = envv;
    a.umask = 027;
    probe p;
    sprout_error err;
    CHECK_OK(start_probe(&a, (const char *const[]){"report", "wait", NULL}, &p, &err), &err);
    char *report = read_report(&p);
    CHECK(has_line(report, "env=ROUND=x") && count_lines(report, "env=") == 1, "report:\n%s", report);
    CHECK(!strcmp(field(report, "umask"), "0027"), "umask %s", field(report, "umask"));
    CHECK(!strcmp(proc_fd_list(p.pid), "0 1 2"), "fds %s", proc_fd_list(p.pid));
    CHECK(!strcmp(status_of(p.pid, "SigCgt"), "0000000000000000"), "SigCgt %s", status_of(p.pid, "SigCgt"));
    CHECK(!strcmp(status_of(p.pid, "SigIgn"), "0000000000000000"), "SigIgn %s", status_of(p.pid, "SigIgn"));
    free(report);
    int status = finish_probe(&p);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: status %#x", round, status);
  }
}

int main(void) {
  temp_root_create("guarantees");
  RUN(a_spawn_that_sets_every_property_leaves_the_callers_state_as_it_was);
  RUN(a_paused_start_leaves_the_callers_state_as_it_was);
  RUN(a_working_directory_through_proc_self_fd_reaches_no_fd_outside_the_layout);
  RUN(a_hostname_is_set_before_the_change_to_a_non_root_uid);
  RUN(realtime_scheduling_is_set_before_the_change_to_a_non_root_uid);
  RUN(a_root_directory_is_entered_before_the_change_to_a_non_root_uid);
  RUN(a_copy_forked_during_a_spawn_with_credentials_has_the_callers_dumpable_flag);
  RUN(clone3_answering_einval_falls_back_to_clone);
  temp_root_remove();
  return summary();
}
