/* A paused start (SPROUT_EXEC2_PAUSED, ABI 1.1), seen from outside: the process exists with
 * everything applied but execve, is prepared by the test (a cgroup limit, a veth end), then runs
 * its program and sees what was prepared; signals, waits and releases work on it; its memory
 * (a copy of the request, the plan, its stack) survives everything the caller does meanwhile. */
#include "harness.h"

#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Starts the probe paused with `args` under `a` (stdin and stdout are pipes, see probe). */
static void start_paused(sprout_exec_args *a, const char *const *args, probe *p) {
  sprout_error err;
  a->flags2 |= SPROUT_EXEC2_PAUSED;
  CHECK_OK(start_probe(a, args, p, &err), &err);
}

/* Whether fd has something to read (or EOF) within ms. */
static int readable_within(int fd, int ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  return poll(&pfd, 1, ms) == 1;
}

static const char *status_field(int pid, const char *key) {
  char *text = proc_file(pid, "status");
  CHECK(text != NULL, "no /proc/%d/status", pid);
  const char *value = field(text, key);
  static char copy[256];
  snprintf(copy, sizeof copy, "%s", value ? value : "");
  free(text);
  return copy;
}

TEST(a_paused_process_is_there_with_its_properties_before_it_runs) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  sprout_credentials ids = {65534, 65534, NULL, 0};
  a.credentials = &ids;
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);

  /* Its pid, its pidfd and its /proc entry, with what sprout applied. */
  int pidfd = sprout_pidfd(p.pid);
  CHECK(pidfd >= 0, "sprout_pidfd: %d", pidfd);
  struct pollfd alive = {pidfd, POLLIN, 0};
  CHECK(poll(&alive, 1, 0) == 0, "the pidfd says the process ended");
  char fdinfo[64], want_pid[32];
  snprintf(fdinfo, sizeof fdinfo, "fdinfo/%d", pidfd);
  snprintf(want_pid, sizeof want_pid, "Pid:\t%d\n", p.pid);
  char *info = proc_file(getpid(), fdinfo);
  CHECK(info && strstr(info, want_pid), "pidfd fdinfo: %s", info ? info : "(none)");
  CHECK(!strncmp(status_field(p.pid, "Uid"), "65534\t65534\t65534\t65534", 23), "Uid %s",
        status_field(p.pid, "Uid"));
  CHECK(!strcmp(status_field(p.pid, "NoNewPrivs"), "1"), "NoNewPrivs %s",
        status_field(p.pid, "NoNewPrivs"));
  /* It waits (S) once it has said it paused and reached its read. */
  for (int i = 0; i < 400 && status_field(p.pid, "State")[0] != 'S'; i++) usleep(5000);
  CHECK(status_field(p.pid, "State")[0] == 'S', "State %s", status_field(p.pid, "State"));
  size_t count = 0;
  int32_t pids[16];
  CHECK(sprout_list(NULL, pids, 16, &count) == 0 && count == 1 && pids[0] == p.pid, "listed %zu",
        count);
  /* Its program has not run: nothing on its stdout, and it still waits after a while. */
  CHECK(!readable_within(p.from_stdout, 200), "the program ran before sprout_start");

  sprout_error err;
  CHECK_OK(sprout_start(p.pid, &err), &err);
  char *out = read_all(p.from_stdout);
  CHECK(!strcmp(out, "running\n"), "stdout \"%s\"", out);
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
  close(pidfd);
}

/* A cgroup2 directory of this test's own, and its fd. */
static int make_cgroup(char *dir, size_t size) {
  char mount[512], root[512];
  CHECK(cgroup2_mount(mount, sizeof mount, root, sizeof root), "no cgroup2 mounted");
  snprintf(dir, size, "%s/sprout-test-paused-%d", mount, (int)getpid());
  CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", dir, strerror(errno));
  return fd;
}

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s: %s", path, strerror(errno));
  close(fd);
}

/* cgroup.max.depth, a limit every cgroup2 directory has (controllers' limits such as pids.max
 * exist only where the controller is enabled, which a hybrid host's cgroup2 has none of). */
TEST(a_cgroup_limit_written_while_paused_holds_when_the_program_runs) {
  need_root();
  char dir[600], limit[700], procs[700], sub[700];
  int cgroup = make_cgroup(dir, sizeof dir);
  snprintf(limit, sizeof limit, "%s/cgroup.max.depth", dir);
  snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = cgroup;
  const char *args[] = {"cat", limit, "mkdir", sub, NULL};
  probe p;
  start_paused(&a, args, &p);

  char *members = read_file(procs);
  char want[32];
  snprintf(want, sizeof want, "%d\n", p.pid);
  int in_cgroup = members && strstr(members, want) != NULL;
  write_text(limit, "0");
  sprout_error err;
  int started = sprout_start(p.pid, &err);
  char *out = read_all(p.from_stdout);
  int status = finish_probe(&p);
  rmdir(sub);
  rmdir(dir);
  CHECK(in_cgroup, "pid %d not in %s: %s", p.pid, procs, members ? members : "(unreadable)");
  CHECK(started == 0, "sprout_start %d: %s", started, err.message);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  /* It reads the limit, and the kernel holds it to it: no cgroup below its own. */
  CHECK(!strcmp(out, "cat=0\nmkdir=-1 errno=11\n"), "the program saw \"%s\"", out);
}

TEST(a_veth_end_moved_in_while_paused_is_there_when_the_program_runs) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace net = {CLONE_NEWNET, -1};
  a.namespaces = &net;
  a.namespaces_len = 1;
  const char *args[] = {"cat", "/proc/self/net/dev", NULL};
  probe p;
  start_paused(&a, args, &p);

  char host[16], inside[16], command[256];
  snprintf(host, sizeof host, "spvh%d", (int)getpid() % 10000000);
  snprintf(inside, sizeof inside, "spvi%d", (int)getpid() % 10000000);
  snprintf(command, sizeof command,
           "ip link add %s type veth peer name %s && ip link set %s netns %d", host, inside, inside,
           p.pid);
  int moved = system(command);
  sprout_error err;
  int started = sprout_start(p.pid, &err);
  char *out = read_all(p.from_stdout);
  int status = finish_probe(&p);
  snprintf(command, sizeof command, "ip link del %s 2>/dev/null", host);
  int unused = system(command);
  (void)unused;
  CHECK(moved == 0, "%s: status %#x", command, moved);
  CHECK(started == 0, "sprout_start %d: %s", started, err.message);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  char want[32];
  snprintf(want, sizeof want, "cat=%s:", inside);
  CHECK(strstr(out, want) != NULL, "%s not in the program's network namespace:\n%s", inside, out);
  CHECK(strstr(out, host) == NULL, "the host end is in there too:\n%s", out);
}

TEST(killing_a_paused_process_is_a_clean_abort) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);
  CHECK(sprout_signal(p.pid, SIGKILL) == 0, "sprout_signal");
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_wait(p.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
  CHECK(read_all(p.from_stdout)[0] == 0, "the program ran");
  CHECK(sprout_start(p.pid, &err) == -ESRCH && err.stage == SPROUT_STAGE_ARGS, "start: %s",
        err.message);

  /* Killed, then started: the start reports how it ended, and the process is gone. */
  probe q;
  start_paused(&a, args, &q);
  CHECK(sprout_signal(q.pid, SIGTERM) == 0, "sprout_signal");
  int rc = sprout_start(q.pid, &err);
  CHECK(rc == -EINTR && err.stage == SPROUT_STAGE_SPAWN && strstr(err.message, "died before exec"),
        "start %d: %s", rc, err.message);
  CHECK(sprout_wait(q.pid, 0, NULL, &err) == -ECHILD, "still tracked");
  CHECK(read_all(q.from_stdout)[0] == 0, "the program ran");
}

TEST(signals_act_on_a_paused_process_as_on_its_program) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.sigmask = 1ull << (SIGUSR1 - 1);
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);
  /* Blocked by the program's mask: pending, not fatal. */
  CHECK(sprout_signal(p.pid, SIGUSR1) == 0, "SIGUSR1");
  CHECK(sprout_signal(p.pid, SIGSTOP) == 0, "SIGSTOP");
  int status = -1;
  for (int i = 0; i < 200 && status_field(p.pid, "State")[0] != 'T'; i++) usleep(5000);
  CHECK(status_field(p.pid, "State")[0] == 'T', "not stopped: %s", status_field(p.pid, "State"));
  CHECK(sprout_signal(p.pid, SIGCONT) == 0, "SIGCONT");
  sprout_error err;
  CHECK_OK(sprout_start(p.pid, &err), &err);
  CHECK(!strcmp(read_all(p.from_stdout), "running\n"), "output");
  close(p.to_stdin);
  close(p.from_stdout);
  CHECK_OK(sprout_wait(p.pid, 10000, &status, &err), &err);
  /* SIGUSR1 stayed pending through execve; the probe keeps the mask it got and exits. */
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

TEST(release_ends_a_paused_process) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);
  CHECK(sprout_release(p.pid) == 0, "sprout_release");
  int status = -1;
  CHECK(waitpid(p.pid, &status, 0) == p.pid, "waitpid: %s", strerror(errno));
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
  CHECK(read_all(p.from_stdout)[0] == 0, "the program ran");
}

TEST(the_exec_failure_comes_from_sprout_start) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_PAUSED;
  const char *argv[] = {"no-such-program-sprout", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
  int rc = sprout_start(proc.pid, &err);
  CHECK(rc == -ENOENT && err.stage == SPROUT_STAGE_EXEC, "start %d: %s", rc, err.message);
  CHECK(strstr(err.message, "no-such-program-sprout (searched PATH)"), "%s", err.message);
  CHECK(sprout_wait(proc.pid, 0, NULL, &err) == -ECHILD, "still tracked after a failed start");
}

TEST(only_a_paused_process_can_be_started_once) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  CHECK(sprout_start(p.pid, &err) == -EALREADY && err.stage == SPROUT_STAGE_ARGS, "%s",
        err.message);
  finish_probe(&p);
  start_paused(&a, args, &p);
  CHECK_OK(sprout_start(p.pid, &err), &err);
  CHECK(sprout_start(p.pid, &err) == -EALREADY, "second start: %s", err.message);
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
  CHECK(sprout_start(999999999, &err) == -ESRCH, "unknown pid: %s", err.message);
  a.flags2 = SPROUT_EXEC2_PAUSED;
  const char *argv[] = {"true", NULL};
  a.argv = argv;
  int status;
  CHECK(sprout_exec(&a, NULL, 0, &status, &err) == -EINVAL && err.stage == SPROUT_STAGE_ARGS,
        "sprout_exec: %s", err.message);
}

struct start_job {
  int pid;
  int rc;
  sprout_error err;
};

static void *start_from_a_thread(void *arg) {
  struct start_job *job = arg;
  job->rc = sprout_start(job->pid, &job->err);
  return NULL;
}

/* The request's memory is the caller's to free and reuse at once; spawns from the same thread
 * meanwhile (paused or not) reuse nothing the paused children still read. */
TEST(paused_children_keep_their_own_request_while_the_caller_goes_on) {
  enum { N = 8 };
  probe ps[N];
  for (int i = 0; i < N; i++) {
    sprout_exec_args *a = malloc(sizeof *a);
    sprout_exec_args_init(a);
    char *word = malloc(64);
    snprintf(word, 64, "child-%d", i);
    char *env = malloc(64);
    snprintf(env, 64, "WHO=%d", i);
    const char *envv[] = {env, NULL};
    a->envv = envv;
    const char *args[] = {"say", word, "report", NULL};
    start_paused(a, args, &ps[i]);
    /* Everything the caller handed over is scribbled on and freed. */
    memset(word, 'x', 63);
    memset(env, 'y', 63);
    memset(a, 0xa5, sizeof *a);
    free(word);
    free(env);
    free(a);
    /* A plain spawn from this thread in between. */
    sprout_exec_args plain;
    sprout_exec_args_init(&plain);
    const char *exit_args[] = {"exit", "0", NULL};
    probe q;
    sprout_error err;
    CHECK_OK(start_probe(&plain, exit_args, &q, &err), &err);
    finish_probe(&q);
  }
  pthread_t threads[N];
  struct start_job jobs[N];
  for (int i = N - 1; i >= 0; i--) {
    jobs[i].pid = ps[i].pid;
    CHECK(pthread_create(&threads[i], NULL, start_from_a_thread, &jobs[i]) == 0, "thread");
  }
  for (int i = 0; i < N; i++) {
    pthread_join(threads[i], NULL);
    CHECK(jobs[i].rc == 0, "start %d: %s", i, jobs[i].err.message);
    close(ps[i].to_stdin);
    char *out = read_until_end(ps[i].from_stdout);
    char want[32], env[32];
    snprintf(want, sizeof want, "child-%d\n", i);
    snprintf(env, sizeof env, "env=WHO=%d", i);
    CHECK(!strncmp(out, want, strlen(want)), "child %d said: %.40s", i, out);
    CHECK(has_line(out, env), "child %d environment:\n%s", i, out);
    CHECK(WIFEXITED(finish_probe(&ps[i])), "exit");
  }
}

/* The caller's process ends: its paused process ends too (it reads EOF on its socket) rather
 * than wait for ever. This test process is the subreaper that inherits it. */
TEST(a_paused_process_ends_with_its_caller) {
  CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  int report[2];
  CHECK(pipe(report) == 0, "pipe");
  pid_t caller = fork();
  if (caller == 0) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.flags2 = SPROUT_EXEC2_PAUSED;
    const char *argv[] = {"true", NULL};
    a.argv = argv;
    sprout_process proc;
    sprout_error err;
    int rc = sprout_exec_async(&a, NULL, 0, &proc, &err);
    int32_t pid = rc == 0 ? proc.pid : -1;
    if (write(report[1], &pid, sizeof pid) != sizeof pid) _exit(2);
    _exit(0);
  }
  close(report[1]);
  int32_t pid = -1;
  CHECK(read(report[0], &pid, sizeof pid) == sizeof pid && pid > 0, "the caller did not spawn");
  int status = -1;
  CHECK(waitpid(caller, &status, 0) == caller && WIFEXITED(status), "caller");
  CHECK(waitpid(pid, &status, 0) == pid, "waitpid %d: %s", pid, strerror(errno));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 127, "status %#x", status);
}

/* A copy made by fork does not own its parent's paused process: it can neither start nor
 * free it, and the parent still starts it. */
TEST(a_fork_copy_leaves_the_parents_paused_process_alone) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);
  pid_t copy = fork();
  if (copy == 0) {
    size_t count = 1;
    sprout_error err;
    int ok = sprout_list(NULL, NULL, 0, &count) == 0 && count == 0 &&
             sprout_start(p.pid, &err) == -ESRCH && sprout_release(p.pid) == -ESRCH;
    _exit(ok ? 0 : 1);
  }
  int status = -1;
  CHECK(waitpid(copy, &status, 0) == copy && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the copy saw its parent's process: %#x", status);
  sprout_error err;
  CHECK_OK(sprout_start(p.pid, &err), &err);
  CHECK(!strcmp(read_all(p.from_stdout), "running\n"), "output");
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
}

/* An unprivileged caller pauses and starts as root does. */
TEST(an_unprivileged_caller_pauses_and_starts) {
  need_root();
  CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
            setresuid(65534, 65534, 65534) == 0,
        "becoming nobody: %s", strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"say", "running", NULL};
  probe p;
  start_paused(&a, args, &p);
  CHECK(!readable_within(p.from_stdout, 100), "the program ran before sprout_start");
  sprout_error err;
  CHECK_OK(sprout_start(p.pid, &err), &err);
  CHECK(!strcmp(read_all(p.from_stdout), "running\n"), "output");
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
}

int main(void) {
  RUN(a_paused_process_is_there_with_its_properties_before_it_runs);
  RUN(a_cgroup_limit_written_while_paused_holds_when_the_program_runs);
  RUN(a_veth_end_moved_in_while_paused_is_there_when_the_program_runs);
  RUN(killing_a_paused_process_is_a_clean_abort);
  RUN(signals_act_on_a_paused_process_as_on_its_program);
  RUN(release_ends_a_paused_process);
  RUN(the_exec_failure_comes_from_sprout_start);
  RUN(only_a_paused_process_can_be_started_once);
  RUN(paused_children_keep_their_own_request_while_the_caller_goes_on);
  RUN(a_paused_process_ends_with_its_caller);
  RUN(a_fork_copy_leaves_the_parents_paused_process_alone);
  RUN(an_unprivileged_caller_pauses_and_starts);
  return summary();
}
