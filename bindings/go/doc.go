// Package sprout starts Linux processes with an exact, verified set of properties through
// the sprout C library (libsprout), in the shape of os/exec: porting is
// a rename of exec.Command to sprout.Command, plus the differences below.
//
//	cmd := sprout.Command("id")
//	cmd.Env = []string{"PATH=/usr/bin:/bin"}
//	cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
//	out, err := cmd.Output()
//
// Every field of the library's arguments has a typed spelling on Cmd, in the spirit of
// syscall.SysProcAttr: Credential, Capabilities, Rlimits, Umask, NoNewPrivs, Seccomp,
// Namespaces with UidMappings/GidMappings, Cgroup, Pdeathsig, ContainerID, the terminal flags
// and ExecFile. A failed start is an *Error that names the step that failed (its Stage), the
// path, fd or id concerned, and the errno, which errors.Is sees through (fs.ErrNotExist,
// syscall.EPERM, exec.ErrNotFound for a name not found in PATH).
//
// Where it differs from os/exec:
//
//   - Cmd.Env == nil is an EMPTY environment, not the caller's: set Env = os.Environ(), or
//     InheritEnv, to pass the caller's on.
//   - A Path without '/' is searched in the PATH of the new environment (or a default list),
//     inside the new process, not in the caller's PATH when the Cmd is made.
//   - Dir == "" is "/", not the caller's working directory; the umask is 022 unless Umask
//     says otherwise.
//   - Cmd.Process is a *sprout.Process (Pid, Signal, Kill, Pidfd), not an *os.Process: the
//     library tracks and reaps the process, and nothing may reap it behind it. Signals go
//     through a pidfd, so they never reach a process that reused the pid.
//   - ProcessState carries no resource usage.
//   - A terminal among the stdio files becomes the process's controlling terminal (see
//     Cmd.TTY; NoTTY turns that off).
//
// Go specifics:
//
//   - Waiting holds no OS thread per process: Wait sleeps on a pidfd that Go's poller
//     watches, so thousands of goroutines can wait for thousands of processes with a handful
//     of threads. (Before that, at most two Waits at a time block in the library for up to
//     2 ms, as os/exec's Wait blocks in waitid: a short program is then reaped as soon as it
//     ends, some 10-30 µs sooner than through the poller.)
//   - Spawning holds no lock: goroutines start processes in parallel (os/exec serialises
//     them on syscall.ForkLock).
//   - The process never copies the Go heap's page tables, not even for a new user namespace
//     with id maps (os/exec forks then): a spawn costs the same from a 10 MiB or a 10 GiB
//     program.
//   - Go's signal handlers never run in the new process: the library blocks every signal
//     around the clone and the child starts with every handler reset, before it runs a
//     single instruction of Go's; the program starts with every signal at SIG_DFL and an
//     empty mask.
//   - Pdeathsig follows the thread that spawned, so sprout spawns such a Cmd from a thread it
//     keeps for the life of the program (see Cmd.Pdeathsig).
//
// The package needs libsprout installed where pkg-config finds it (sprout.pc) and cgo.
package sprout
