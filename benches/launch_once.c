/* The floor for `sprout run -- PROG` in benches/exec.sh: the least a launcher can do, a
 * posix_spawn of argv[1] and a waitpid, from a small dynamically linked C program (as the
 * sprout binary is dynamically linked to the C library). Exits with the program's status. */
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 2) return 125;
  pid_t pid;
  if (posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0) return 127;
  int status;
  if (waitpid(pid, &status, 0) < 0) return 125;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
