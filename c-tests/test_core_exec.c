/* Which file runs: filename or argv[0], the PATH search in the new environment with execvpe's
 * rules, relative paths, ENOEXEC without a shell, the error messages, and exec_fd. */
#include "core_util.h"

static const char *real_probe(void) {
  static char real[PATH_MAX];
  CHECK(realpath(probe_path(), real) != NULL, "realpath");
  return real;
}

/*
 * Runs argv (its first entries after argv[0] are probe commands starting with "say ready")
 * under a with the probe's stdout to us; returns sprout_exec_async's result. On success, waits
 * for "ready" (the exec is complete) and leaves the process in "wait" (stdin is ours).
 */
static int start(sprout_exec_args *a, const char *const *argv, int *pid, int *to_stdin,
                 sprout_error *err) {
  int in[2], out[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0, "pipe2");
  a->argv = argv;
  int32_t fds[] = {in[0], out[1], 2};
  sprout_process proc;
  int rc = sprout_exec_async(a, fds, 3, &proc, err);
  close(in[0]);
  close(out[1]);
  if (rc == 0) {
    await_say(out[0], "ready");
    *pid = proc.pid;
    *to_stdin = in[1];
  } else {
    close(in[1]);
  }
  close(out[0]);
  return rc;
}

/* Lets a started probe finish and checks it exited 0. */
static void finish(int pid, int to_stdin) {
  close(to_stdin);
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_wait(pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

TEST(filename_null_or_empty_runs_argv0) {
  const char *argv[] = {probe_path(), "say", "ready", "wait", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  static const char *const names[] = {NULL, ""};
  for (int i = 0; i < 2; i++) {
    a.filename = names[i];
    int pid, in;
    sprout_error err;
    CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
    CHECK(!strcmp(proc_link(pid, "exe"), real_probe()), "exe %s", proc_link(pid, "exe"));
    check_proc_strings(pid, "cmdline", argv);
    finish(pid, in);
  }
}

TEST(filename_runs_with_argv0_as_given) {
  const char *argv[] = {"no such program", "say", "ready", "wait", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.filename = probe_path();
  int pid, in;
  sprout_error err;
  CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), real_probe()), "exe %s", proc_link(pid, "exe"));
  check_proc_strings(pid, "cmdline", argv);
  finish(pid, in);
}

TEST(a_name_without_slash_is_searched_in_the_path_of_envv_not_the_callers) {
  char name[64];
  snprintf(name, sizeof name, "sprout-probe-%d", getpid());
  char *dir = temp_dir("bin");
  char *copy = temp_path("bin/");
  copy = realloc(copy, strlen(copy) + strlen(name) + 1);
  strcat(copy, name);
  copy_probe(copy);
  char path_var[PATH_MAX + 32];
  snprintf(path_var, sizeof path_var, "PATH=/nonexistent:%s", dir);
  const char *envv[] = {"HOME=/", path_var, NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.envv = envv;

  /* argv[0] searched */
  const char *argv[] = {name, "say", "ready", "wait", NULL};
  int pid, in;
  sprout_error err;
  CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), copy), "exe %s, not %s", proc_link(pid, "exe"), copy);
  finish(pid, in);

  /* filename searched, argv[0] anything */
  const char *argv_x[] = {"x", "say", "ready", "wait", NULL};
  a.filename = name;
  CHECK_OK(start(&a, argv_x, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), copy), "exe %s, not %s", proc_link(pid, "exe"), copy);
  finish(pid, in);

  /* The caller's PATH has the directory, the new environment's does not. */
  char caller_path[PATH_MAX];
  snprintf(caller_path, sizeof caller_path, "%s:/usr/bin:/bin", dir);
  CHECK(setenv("PATH", caller_path, 1) == 0, "setenv");
  const char *other_envv[] = {"PATH=/nonexistent:/also-nonexistent", NULL};
  a.envv = other_envv;
  CHECK_FAILS(start(&a, argv_x, &pid, &in, &err), &err, ENOENT, SPROUT_STAGE_EXEC);
  char expected[256];
  snprintf(expected, sizeof expected, "exec: %s (searched PATH): No such file or directory", name);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
  /* No PATH at all: the default path, which does not hold it either. */
  a.envv = NULL;
  CHECK_FAILS(start(&a, argv_x, &pid, &in, &err), &err, ENOENT, SPROUT_STAGE_EXEC);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
}

TEST(without_path_in_envv_the_default_path_is_searched) {
  CHECK(setenv("PATH", "/nonexistent", 1) == 0, "setenv");
  const char *argv[] = {"sh", "-c", "exit 3", NULL};
  const char *envv[] = {"HOME=/", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  a.envv = envv;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
  a.envv = NULL; /* an empty environment has no PATH either */
  CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
}

TEST(eacces_is_remembered_while_later_directories_are_tried) {
  char *denied_dir = temp_dir("denied");
  char *empty_dir = temp_dir("empty");
  char *good_dir = temp_dir("good");
  char *denied = temp_path("denied/prog");
  char *good = temp_path("good/prog");
  char *not_a_dir = temp_path("file");
  write_file(denied, "not executable", 14, 0644);
  write_file(not_a_dir, "x", 1, 0644);
  copy_probe(good);
  char path_var[3 * PATH_MAX];
  snprintf(path_var, sizeof path_var, "PATH=%s:%s:%s", denied_dir, not_a_dir, empty_dir);
  const char *envv[] = {path_var, NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.envv = envv;
  const char *argv[] = {"prog", "say", "ready", "wait", NULL};
  int pid, in;
  sprout_error err;
  CHECK_FAILS(start(&a, argv, &pid, &in, &err), &err, EACCES, SPROUT_STAGE_EXEC);
  char expected[PATH_MAX + 64];
  snprintf(expected, sizeof expected, "exec: %s: Permission denied", denied);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);

  /* ENOTDIR and ENOENT are skipped, EACCES remembered, and a later directory still runs. */
  snprintf(path_var, sizeof path_var, "PATH=%s:%s:%s:%s", denied_dir, not_a_dir, empty_dir, good_dir);
  CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), good), "exe %s", proc_link(pid, "exe"));
  finish(pid, in);
}

TEST(a_relative_path_with_a_slash_is_relative_to_the_working_directory) {
  char *wd = temp_dir("wd");
  free(temp_dir("wd/sub"));
  char *prog = temp_path("wd/sub/prog");
  copy_probe(prog);
  CHECK(chdir("/") == 0, "chdir");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.working_directory = wd;
  const char *argv[] = {"sub/prog", "say", "ready", "wait", NULL};
  int pid, in;
  sprout_error err;
  CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), prog), "exe %s", proc_link(pid, "exe"));
  finish(pid, in);
  a.filename = "./sub/prog";
  argv[0] = "anything";
  CHECK_OK(start(&a, argv, &pid, &in, &err), &err);
  CHECK(!strcmp(proc_link(pid, "exe"), prog), "exe %s", proc_link(pid, "exe"));
  finish(pid, in);

  /* Not relative to the caller's working directory. */
  CHECK(chdir(wd) == 0, "chdir");
  a.working_directory = NULL;
  CHECK_FAILS(start(&a, argv, &pid, &in, &err), &err, ENOENT, SPROUT_STAGE_EXEC);
  CHECK(!strcmp(err.message, "exec: ./sub/prog: No such file or directory"), "message \"%s\"",
        err.message);
}

TEST(enoexec_is_reported_without_a_shell_fallback) {
  char *marker = temp_path("marker");
  char *script = temp_path("script");
  char text[PATH_MAX + 32];
  int len = snprintf(text, sizeof text, "touch %s\n", marker);
  write_file(script, text, (size_t)len, 0755);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {script, NULL};
  a.argv = argv;
  int status;
  sprout_error err;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, ENOEXEC, SPROUT_STAGE_EXEC);
  char expected[PATH_MAX + 64];
  snprintf(expected, sizeof expected, "exec: %s: Exec format error", script);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
  CHECK(access(marker, F_OK) != 0, "a shell ran the file");

  /* In a PATH search ENOEXEC ends the search (execvpe would run a shell there), naming the
   * file that failed. */
  char *dir = temp_dir("path");
  char *in_path = temp_path("path/script");
  write_file(in_path, text, (size_t)len, 0755);
  char *later = temp_dir("later");
  char *later_prog = temp_path("later/script");
  copy_probe(later_prog);
  char path_var[2 * PATH_MAX + 16];
  snprintf(path_var, sizeof path_var, "PATH=%s:%s", dir, later);
  const char *envv[] = {path_var, NULL};
  const char *argv_search[] = {"script", "exit", "0", NULL};
  a.argv = argv_search;
  a.envv = envv;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, ENOEXEC, SPROUT_STAGE_EXEC);
  snprintf(expected, sizeof expected, "exec: %s: Exec format error", in_path);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
  CHECK(access(marker, F_OK) != 0, "a shell ran the file");
}

TEST(a_missing_file_names_the_path_in_the_message) {
  char missing[128];
  snprintf(missing, sizeof missing, "/nonexistent-%d/prog", getpid());
  const char *argv[] = {missing, NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  int status;
  sprout_error err;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, ENOENT, SPROUT_STAGE_EXEC);
  char expected[256];
  snprintf(expected, sizeof expected, "exec: %s: No such file or directory", missing);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
}

TEST(exec_fd_runs_the_open_file_which_the_program_never_sees) {
  const char *argv[] = {"anything at all", "say", "ready", "report", "wait", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  /* close-on-exec or not, low or high, O_PATH or readable */
  static const struct {
    int flags, at;
  } cases[] = {{O_RDONLY | O_CLOEXEC, -1}, {O_RDONLY, 3}, {O_RDONLY, 40}, {O_PATH | O_CLOEXEC, -1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int fd = open(probe_path(), cases[i].flags);
    CHECK(fd >= 0, "open probe: %s", strerror(errno));
    if (cases[i].at >= 0 && fd != cases[i].at) {
      CHECK(dup2(fd, cases[i].at) == cases[i].at, "dup2");
      close(fd);
      fd = cases[i].at;
    }
    int fd_flags = fcntl(fd, F_GETFD);
    a.exec_fd = fd;
    int in[2], out[2];
    CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0, "pipe2");
    a.argv = argv;
    int32_t fds[] = {in[0], out[1], 2};
    sprout_process proc;
    sprout_error err;
    CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
    close(out[1]);
    await_say(out[0], "ready");
    char *report = read_until_end(out[0]);
    CHECK(!strcmp(proc_link(proc.pid, "exe"), real_probe()), "case %zu: exe %s", i, proc_link(proc.pid, "exe"));
    CHECK(!strcmp(proc_fd_list(proc.pid), "0 1 2"), "case %zu: fds %s", i, proc_fd_list(proc.pid));
    CHECK(count_lines(report, "fd=") == 3, "case %zu: report:\n%s", i, report);
    check_proc_strings(proc.pid, "cmdline", argv);
    close(in[1]);
    close(out[0]);
    close(in[0]);
    int status;
    CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    CHECK(fcntl(fd, F_GETFD) == fd_flags, "case %zu: the caller's exec fd changed", i);
    close(fd);
  }
}

TEST(exec_fd_with_no_fds_and_as_a_listed_fd) {
  int fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.exec_fd = fd;
  const char *args[] = {"sleep", "60000", NULL};
  int pid;
  sprout_error err;
  CHECK_OK(spawn_probe(&a, args, NULL, 0, &pid, &err), &err);
  for (int i = 0; i < 10000; i++) { /* until the exec is complete: cmdline is set last */
    size_t len;
    free(proc_bytes(pid, "cmdline", &len));
    if (len) break;
    usleep(1000);
  }
  CHECK(!strcmp(proc_fd_list(pid), ""), "fds %s", proc_fd_list(pid));
  CHECK(!strcmp(proc_link(pid, "exe"), real_probe()), "exe %s", proc_link(pid, "exe"));
  kill_probe(pid);

  /* Also asked for as fd 3: the program gets it there. */
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2");
  const char *report_args[] = {"report", "pause", NULL};
  int32_t fds[] = {-1, out[1], -1, fd};
  CHECK_OK(spawn_probe(&a, report_args, fds, 4, &pid, &err), &err);
  close(out[1]);
  char *report = read_until_end(out[0]);
  CHECK(!strcmp(proc_fd_list(pid), "1 3"), "fds %s", proc_fd_list(pid));
  char line[PATH_MAX + 32];
  snprintf(line, sizeof line, "fd=3 inherit -> %s", real_probe());
  CHECK(has_line(report, line), "report:\n%s", report);
  kill_probe(pid);
}

TEST(exec_fd_with_a_filename_is_einval_and_a_closed_one_ebadf) {
  int fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open");
  const char *argv[] = {"probe", "exit", "0", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  a.exec_fd = fd;
  a.filename = probe_path();
  sprout_process proc;
  sprout_error err;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.filename = "";
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  a.filename = NULL;
  close(fd);
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EBADF, SPROUT_STAGE_ARGS);
  char expected[32];
  snprintf(expected, sizeof expected, "exec_fd %d", fd);
  CHECK_MESSAGE_HAS(&err, expected);
  a.exec_fd = -2;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EBADF, SPROUT_STAGE_ARGS);
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a process was started");
}

TEST(exec_fd_of_a_file_without_exec_permission_fails_in_exec) {
  char *path = temp_path("data");
  write_file(path, "data", 4, 0644);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open");
  const char *argv[] = {"data", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  a.exec_fd = fd;
  int status;
  sprout_error err;
  CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, EACCES, SPROUT_STAGE_EXEC);
  char expected[64];
  snprintf(expected, sizeof expected, "exec: exec_fd %d: Permission denied", fd);
  CHECK(!strcmp(err.message, expected), "message \"%s\"", err.message);
}

int main(void) {
  temp_root_create("core-exec");
  RUN(filename_null_or_empty_runs_argv0);
  RUN(filename_runs_with_argv0_as_given);
  RUN(a_name_without_slash_is_searched_in_the_path_of_envv_not_the_callers);
  RUN(without_path_in_envv_the_default_path_is_searched);
  RUN(eacces_is_remembered_while_later_directories_are_tried);
  RUN(a_relative_path_with_a_slash_is_relative_to_the_working_directory);
  RUN(enoexec_is_reported_without_a_shell_fallback);
  RUN(a_missing_file_names_the_path_in_the_message);
  RUN(exec_fd_runs_the_open_file_which_the_program_never_sees);
  RUN(exec_fd_with_no_fds_and_as_a_listed_fd);
  RUN(exec_fd_with_a_filename_is_einval_and_a_closed_one_ebadf);
  RUN(exec_fd_of_a_file_without_exec_permission_fails_in_exec);
  temp_root_remove();
  return summary();
}
