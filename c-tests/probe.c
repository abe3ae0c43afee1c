/*
 * probe: the process under test. Built static, it reports its own state as the kernel shows
 * it, then does what its arguments say. Commands run in order:
 *
 *   report          print the state below to stdout, then "end"
 *   wait            block until stdin reaches EOF (the test closes its end to release it)
 *   pause           block until a signal ends the process
 *   exit N          exit with status N
 *   sleep MS        sleep MS milliseconds
 *   say TEXT        print TEXT and a newline to stdout
 *   cat PATH        print each line of the file PATH as "cat=LINE" (nothing if unreadable)
 *   try-getppid     call getppid with syscall(2) and print "getppid=RESULT errno=ERRNO"
 *                   (errno 0 on success): shows what a seccomp filter does to a system call
 *   tty             print "devtty=ok" when open("/dev/tty") works (the process has a controlling
 *                   terminal), else "devtty=" and the error
 *   reopen          print "reopen=ok" when /proc/self/fd/0 can be opened again for reading and
 *                   writing, else "reopen=" and the error
 *   tiocsti TEXT    push TEXT into the input of the terminal on fd 0 (TIOCSTI), then print
 *                   "tiocsti=ok" or "tiocsti=" and the error
 *   spew N          print N lines "spew 00000", "spew 00001", ...
 *   keyring         print "keyring=" and the description of the session keyring
 *                   (KEYCTL_DESCRIBE: "type;uid;gid;perm;name"), or the error
 *   root            print "root=" and where /proc/self/root points, and "rootid=DEV:INO" of /
 *   ttyname         print "ttyname=" and ttyname(0), or the error
 *   mkdir PATH      mkdir(PATH, 0700); print "mkdir=RESULT errno=ERRNO" (the raw return value)
 *   open PATH       open PATH for reading; print "open=ok" or "open=errno N (text)"
 *   bind PORT       bind a TCP socket to 127.0.0.1:PORT; "bind=ok" or "bind=errno N (text)"
 *   connect PORT    connect a TCP socket to 127.0.0.1:PORT; "connect=ok" or the errno likewise
 *   kill PID SIG    kill(PID, SIG) (PID `ppid`: the parent); "kill=ok" or "kill=errno N (text)"
 *   abstract NAME   connect a UNIX stream socket to the abstract address NAME; "abstract=ok" or
 *                   the errno likewise
 *
 * The report is "key=value" lines: pid, ppid, pgid, sid, cwd, umask, arg (each), env (each),
 * fd (each open fd: "N cloexec|inherit -> target"), status (each line of
 * /proc/self/status), ns (each "name -> target"), rlimit (each "resource soft hard").
 * The fds are listed first, before the probe opens anything itself.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char fd_lines[256][512];
static int fd_count;

/* Lists the open fds without opening one: getdents on a directory fd would be one more. */
static void snapshot_fds(void) {
  for (int fd = 0; fd < 1024 && fd_count < 256; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    char link[64], target[400];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    snprintf(fd_lines[fd_count++], sizeof fd_lines[0], "fd=%d %s -> %s", fd,
             (flags & FD_CLOEXEC) ? "cloexec" : "inherit", target);
  }
}

static void print_file_lines(const char *path, const char *key) {
  FILE *f = fopen(path, "re");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) printf("%s=%s", key, line);
  fclose(f);
}

static void report(int argc, char **argv) {
  printf("pid=%d\nppid=%d\npgid=%d\nsid=%d\n", getpid(), getppid(), getpgrp(), getsid(0));
  char cwd[4096];
  printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  mode_t mask = umask(0);
  umask(mask);
  printf("umask=%04o\n", (unsigned)mask);
  for (int i = 0; i < argc; i++) printf("arg=%s\n", argv[i]);
  for (char **e = environ; *e; e++) printf("env=%s\n", *e);
  for (int i = 0; i < fd_count; i++) printf("%s\n", fd_lines[i]);
  print_file_lines("/proc/self/status", "status");
  static const char *const ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i]);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("ns=%s -> %s\n", ns[i], target);
  }
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    struct rlimit l;
    if (getrlimit(r, &l) == 0)
      printf("rlimit=%d %llu %llu\n", r, (unsigned long long)l.rlim_cur, (unsigned long long)l.rlim_max);
  }
  printf("end\n");
  fflush(stdout);
}

/* "KEY=ok" when ret >= 0, else "KEY=errno N (text)". */
static void outcome(const char *key, long ret) {
  if (ret >= 0)
    printf("%s=ok\n", key);
  else
    printf("%s=errno %d (%s)\n", key, errno, strerror(errno));
  fflush(stdout);
}

/* A TCP socket bound (bind) or connected (connect) to 127.0.0.1:port. */
static long tcp(int do_bind, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long ret = do_bind ? bind(fd, (struct sockaddr *)&addr, sizeof addr)
                     : connect(fd, (struct sockaddr *)&addr, sizeof addr);
  int saved = errno;
  close(fd);
  errno = saved;
  return ret;
}

static long abstract_connect(const char *name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  size_t len = strlen(name);
  if (len > sizeof addr.sun_path - 1) len = sizeof addr.sun_path - 1;
  memcpy(addr.sun_path + 1, name, len);
  long ret = connect(fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
  int saved = errno;
  close(fd);
  errno = saved;
  return ret;
}

int main(int argc, char **argv) {
  snapshot_fds();
  for (int i = 1; i < argc; i++) {
    const char *cmd = argv[i];
    if (!strcmp(cmd, "report")) {
      report(argc, argv);
    } else if (!strcmp(cmd, "wait")) {
      char buf[256];
      while (read(0, buf, sizeof buf) > 0) {
      }
    } else if (!strcmp(cmd, "pause")) {
      pause();
    } else if (!strcmp(cmd, "exit") && i + 1 < argc) {
      fflush(stdout);
      _exit(atoi(argv[++i]));
    } else if (!strcmp(cmd, "sleep") && i + 1 < argc) {
      long ms = atol(argv[++i]);
      struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    } else if (!strcmp(cmd, "cat") && i + 1 < argc) {
      print_file_lines(argv[++i], "cat");
    } else if (!strcmp(cmd, "try-getppid")) {
      errno = 0;
      long ret = syscall(SYS_getppid);
      printf("getppid=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
      fflush(stdout);
    } else if (!strcmp(cmd, "say") && i + 1 < argc) {
      printf("%s\n", argv[++i]);
      fflush(stdout);
    } else if (!strcmp(cmd, "tty") || !strcmp(cmd, "reopen")) {
      int tty = !strcmp(cmd, "tty");
      int fd = open(tty ? "/dev/tty" : "/proc/self/fd/0", O_RDWR | O_NOCTTY | O_CLOEXEC);
      printf("%s=%s\n", tty ? "devtty" : "reopen", fd >= 0 ? "ok" : strerror(errno));
      fflush(stdout);
      if (fd >= 0) close(fd);
    } else if (!strcmp(cmd, "tiocsti") && i + 1 < argc) {
      const char *error = NULL;
      for (const char *c = argv[++i]; *c && !error; c++)
        if (ioctl(0, TIOCSTI, c) < 0) error = strerror(errno);
      printf("tiocsti=%s\n", error ? error : "ok");
      fflush(stdout);
    } else if (!strcmp(cmd, "keyring")) {
      char desc[512];
      long n = syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, -3 /* KEY_SPEC_SESSION_KEYRING */,
                       desc, sizeof desc - 1);
      if (n > 0 && n < (long)sizeof desc) desc[n] = 0;
      printf("keyring=%s\n", n > 0 ? desc : strerror(errno));
      fflush(stdout);
    } else if (!strcmp(cmd, "root")) {
      char target[4096];
      ssize_t n = readlink("/proc/self/root", target, sizeof target - 1);
      target[n < 0 ? 0 : n] = 0;
      struct stat st;
      int ok = stat("/", &st) == 0;
      printf("root=%s\nrootid=%lu:%lu\n", target, ok ? (unsigned long)st.st_dev : 0UL,
             ok ? (unsigned long)st.st_ino : 0UL);
      fflush(stdout);
    } else if (!strcmp(cmd, "ttyname")) {
      const char *name = ttyname(0);
      printf("ttyname=%s\n", name ? name : strerror(errno));
      fflush(stdout);
    } else if (!strcmp(cmd, "mkdir") && i + 1 < argc) {
      errno = 0;
      long ret = mkdir(argv[++i], 0700);
      printf("mkdir=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
      fflush(stdout);
    } else if (!strcmp(cmd, "open") && i + 1 < argc) {
      int fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
      outcome("open", fd);
      if (fd >= 0) close(fd);
    } else if ((!strcmp(cmd, "bind") || !strcmp(cmd, "connect")) && i + 1 < argc) {
      outcome(cmd, tcp(!strcmp(cmd, "bind"), atoi(argv[++i])));
    } else if (!strcmp(cmd, "kill") && i + 2 < argc) {
      const char *target = argv[++i];
      int pid = strcmp(target, "ppid") ? atoi(target) : getppid();
      int sig = atoi(argv[++i]);
      outcome("kill", kill(pid, sig));
    } else if (!strcmp(cmd, "abstract") && i + 1 < argc) {
      outcome("abstract", abstract_connect(argv[++i]));
    } else if (!strcmp(cmd, "spew") && i + 1 < argc) {
      for (long n = atol(argv[++i]), line = 0; line < n; line++) printf("spew %05ld\n", line);
      fflush(stdout);
    } else {
      fprintf(stderr, "probe: unknown command %s\n", cmd);
      return 2;
    }
  }
  return 0;
}
