/* Core spawn semantics through the C ABI: the exec arguments, the fd layout, signals, the
 * executable search, and the process table. */
#include "harness.h"

TEST(plain_spawn_reports_argv_env_cwd_umask_and_stdio_only) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *args[] = {"report", NULL};
  char *out = run_probe(&a, args);
  CHECK(!strcmp(field(out, "cwd"), "/"), "cwd=%s", field(out, "cwd"));
  CHECK(!strcmp(field(out, "umask"), "0022"), "umask=%s", field(out, "umask"));
  CHECK(count_lines(out, "env=") == 0, "environment is not empty:\n%s", out);
  CHECK(count_lines(out, "fd=") == 3, "fds other than 0-2:\n%s", out);
  CHECK(!strcmp(field_nth(out, "arg", 1), "report"), "argv[1]=%s", field_nth(out, "arg", 1));
}

int main(void) {
  RUN(plain_spawn_reports_argv_env_cwd_umask_and_stdio_only);
  return summary();
}
