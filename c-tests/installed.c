/*
 * installed: a C program as a user of the installed library writes it, built by
 * tests/install.rs with `pkg-config --cflags --libs sprout` only (no path into the source tree).
 * It prints the library's version and the file it was loaded from, then runs argv[1..] with the
 * caller's stdio and environment, waits for it and exits with its status.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/wait.h>

#include <sprout.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  Dl_info where;
  if (!dladdr((void *)sprout_exec_async, &where)) return 3;
  printf("version=%s abi=%u loaded-from=%s\n", sprout_version(), sprout_abi_version(),
         where.dli_fname);
  fflush(stdout);

  sprout_exec_args args;
  sprout_exec_args_init(&args);
  args.argv = (const char *const *)&argv[1];
  args.envv = (const char *const *)environ;
  int32_t fds[] = {0, 1, 2};
  int status;
  sprout_error err;
  if (sprout_exec(&args, fds, 3, &status, &err) < 0) {
    fprintf(stderr, "%s\n", err.message);
    return 4;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
