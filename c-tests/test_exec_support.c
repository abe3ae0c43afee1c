/* What ABI 1.1 added for starting a process inside a running container (`sprout exec`),
 * through the C ABI and seen from outside: extra cgroup directories joined before the program
 * runs, a session keyring of the process's own, no default PATH on request, and a pseudo-terminal
 * from a given devpts multiplexer. */
#include "harness.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

static const char *argv_sh[] = {"sh", "-c", "exit 0", NULL};

TEST(without_path_the_default_path_can_be_refused) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv_sh;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  a.flags2 = SPROUT_EXEC2_NO_DEFAULT_PATH;
  int rc = sprout_exec(&a, NULL, 0, &status, &err);
  CHECK(rc == -ENOENT && err.stage == SPROUT_STAGE_EXEC, "rc %d stage %u: %s", rc, err.stage, err.message);
  CHECK(strstr(err.message, "sh (no PATH in the environment") != NULL, "%s", err.message);
  const char *env[] = {"PATH=/usr/bin:/bin", NULL};
  a.envv = env;
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
}

/* The probe's "keyring=" line: the session keyring's description. */
static char *keyring_of(sprout_exec_args *a) {
  const char *args[] = {"keyring", NULL};
  char *out = run_probe(a, args);
  char *line = strstr(out, "keyring=");
  CHECK(line != NULL, "%s", out);
  return line;
}

TEST(a_session_keyring_of_its_own) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  char *caller = keyring_of(&a);
  a.session_keyring = "";
  char *anonymous = keyring_of(&a);
  CHECK(strstr(anonymous, ";_ses\n") != NULL, "%s", anonymous);
  CHECK(strcmp(caller, anonymous) != 0, "still the caller's: %s", caller);
  char name[64];
  snprintf(name, sizeof name, "sprout-test-%d", (int)getpid());
  a.session_keyring = name;
  char *named = keyring_of(&a);
  char want[80];
  snprintf(want, sizeof want, ";%s\n", name);
  CHECK(strstr(named, want) != NULL, "%s", named);
}

/* A cgroup hierarchy to test in: a v1 one (pids) where there is one, else cgroup2. */
static void some_cgroup_mount(char *out, size_t len) {
  char *mountinfo = read_file("/proc/self/mountinfo");
  char *found = NULL, *fallback = NULL;
  for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    if (!strncmp(sep, " - cgroup ", 10) && strstr(sep, ",pids")) found = line;
    if (!strncmp(sep, " - cgroup2 ", 11) && !fallback) fallback = line;
  }
  char *line = found ? found : fallback;
  CHECK(line != NULL, "no cgroup mount");
  /* field 5 is the mount point */
  char *field = line;
  for (int i = 0; i < 4; i++) field = strchr(field, ' ') + 1;
  size_t n = strcspn(field, " ");
  CHECK(n < len, "mount point too long");
  memcpy(out, field, n);
  out[n] = 0;
}

TEST(extra_cgroups_are_joined_before_the_program_runs) {
  need_root();
  char mount[512], dir[600], gone[700];
  some_cgroup_mount(mount, sizeof mount);
  snprintf(dir, sizeof dir, "%s/sprout-test-extra-%d", mount, (int)getpid());
  snprintf(gone, sizeof gone, "%s-gone", dir);
  CHECK(mkdir(dir, 0755) == 0 && mkdir(gone, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int gone_fd = open(gone, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int not_cgroup = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  rmdir(gone);

  sprout_exec_args a;
  sprout_exec_args_init(&a);
  int32_t fds[2] = {fd, not_cgroup};
  a.extra_cgroup_fds = fds;
  a.extra_cgroup_fds_len = 1;
  const char *args[] = {"cat", "/proc/self/cgroup", NULL};
  char *out = run_probe(&a, args);
  char want[128];
  snprintf(want, sizeof want, ":/sprout-test-extra-%d\n", (int)getpid());
  int joined = strstr(out, want) != NULL;

  sprout_error err;
  probe p;
  a.extra_cgroup_fds_len = 2;
  int refused = start_probe(&a, args, &p, &err);
  int32_t bad[1] = {-3};
  a.extra_cgroup_fds = bad;
  a.extra_cgroup_fds_len = 1;
  sprout_error err_bad;
  int negative = start_probe(&a, args, &p, &err_bad);
  int32_t moved[2] = {fd, gone_fd};
  a.extra_cgroup_fds = moved;
  a.extra_cgroup_fds_len = 2;
  sprout_error err_gone;
  int removed = start_probe(&a, args, &p, &err_gone);
  rmdir(dir);

  CHECK(joined, "not in %s:\n%s", dir, out);
  CHECK(refused == -EINVAL && err.stage == SPROUT_STAGE_ARGS &&
            strstr(err.message, "extra_cgroup_fds[1] = ") != NULL,
        "rc %d: %s", refused, err.message);
  CHECK(negative == -EBADF && strstr(err_bad.message, "extra_cgroup_fds[0] = -3"), "rc %d: %s", negative,
        err_bad.message);
  CHECK(removed < 0 && err_gone.stage == SPROUT_STAGE_CGROUP &&
            strstr(err_gone.message, "extra_cgroup_fds[1] = ") != NULL,
        "rc %d stage %u: %s", removed, err_gone.stage, err_gone.message);
}

TEST(a_pty_from_a_given_devpts_multiplexer) {
  int ptmx = open("/dev/pts/ptmx", O_PATH | O_CLOEXEC);
  CHECK(ptmx >= 0, "open /dev/pts/ptmx: %s", strerror(errno));
  int master = -1, slave = -1;
  CHECK(sprout_openpty_from(ptmx, &master, &slave, 21, 71) == 0, "sprout_openpty_from");
  char link[64], target[128];
  snprintf(link, sizeof link, "/proc/self/fd/%d", slave);
  ssize_t n = readlink(link, target, sizeof target - 1);
  target[n < 0 ? 0 : n] = 0;
  CHECK(!strncmp(target, "/dev/pts/", 9), "slave is %s", target);
  struct winsize size;
  CHECK(ioctl(slave, TIOCGWINSZ, &size) == 0 && size.ws_row == 21 && size.ws_col == 71, "size");
  CHECK(fcntl(master, F_GETFD) & FD_CLOEXEC, "master not close-on-exec");
  int regular = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  CHECK(sprout_openpty_from(regular, &master, &slave, 1, 1) == -EINVAL, "a regular file");
  /* A master is a file of the multiplexer too: it names the same instance. */
  int master2 = -1, slave2 = -1;
  CHECK(sprout_openpty_from(master, &master2, &slave2, 1, 1) == 0 && master2 != master, "a master");
  CHECK(sprout_openpty_from(slave, &master2, &slave2, 1, 1) == -EINVAL, "a slave");
  CHECK(sprout_openpty_from(999, &master, &slave, 1, 1) == -EBADF, "a closed fd");
  CHECK(sprout_openpty_from(ptmx, NULL, &slave, 1, 1) == -EINVAL, "NULL master");
}

int main(void) {
  RUN(without_path_the_default_path_can_be_refused);
  RUN(a_session_keyring_of_its_own);
  RUN(extra_cgroups_are_joined_before_the_program_runs);
  RUN(a_pty_from_a_given_devpts_multiplexer);
  return summary();
}
