package sprout_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"sprout.invalid/sprout"
)

func TestCredential(t *testing.T) {
	needRoot(t)
	cmd := probeCmd("report")
	cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{2000, 1000}}
	r := probeReport(t, cmd)
	if uid, gid, groups := r.status(t, "Uid"), r.status(t, "Gid"), r.status(t, "Groups"); uid != "65534 65534 65534 65534" ||
		gid != "65533 65533 65533 65533" || groups != "1000 2000" {
		t.Fatalf("Uid %q Gid %q Groups %q", uid, gid, groups)
	}
	// No groups means none at all.
	cmd = probeCmd("report")
	cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
	if groups := probeReport(t, cmd).status(t, "Groups"); groups != "" {
		t.Fatalf("Groups %q, want none", groups)
	}
}

func capSet(t *testing.T, r report, field string) sprout.Caps {
	t.Helper()
	v, err := strconv.ParseUint(r.status(t, field), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return sprout.Caps(v)
}

func TestCapabilities(t *testing.T) {
	needRoot(t)
	keep := sprout.CapNetRaw | sprout.CapNetBindService
	cmd := probeCmd("report")
	cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
	cmd.Capabilities = &sprout.Capabilities{
		Effective: keep, Permitted: keep, Inheritable: keep, Bounding: keep,
		Ambient: sprout.CapNetBindService,
	}
	r := probeReport(t, cmd)
	// A non-root program without file capabilities holds its ambient set after execve.
	want := map[string]sprout.Caps{
		"CapBnd": keep, "CapInh": keep, "CapAmb": sprout.CapNetBindService,
		"CapPrm": sprout.CapNetBindService, "CapEff": sprout.CapNetBindService,
	}
	for field, caps := range want {
		if got := capSet(t, r, field); got != caps {
			t.Errorf("%s %v, want %v", field, got, caps)
		}
	}
	if s := keep.String(); s != "CAP_NET_BIND_SERVICE|CAP_NET_RAW" {
		t.Errorf("Caps.String() = %q", s)
	}
	if !keep.Has(sprout.CapNetRaw) || keep.Has(sprout.CapSysAdmin) {
		t.Error("Caps.Has")
	}
}

func TestRlimitsNoNewPrivsAndSeccomp(t *testing.T) {
	cmd := probeCmd("report", "try-getppid")
	cmd.Rlimits = []sprout.Rlimit{
		{Resource: sprout.RlimitNofile, Soft: 100, Hard: 200},
		{Resource: sprout.RlimitCore, Soft: 0, Hard: 0},
	}
	cmd.NoNewPrivs = true
	cmd.Seccomp = denyWithEPERM(syscall.SYS_GETPPID)
	r := probeReport(t, cmd)
	if limits := r["rlimit"]; !contains(limits, fmt.Sprintf("%d 100 200", syscall.RLIMIT_NOFILE)) ||
		!contains(limits, fmt.Sprintf("%d 0 0", sprout.RlimitCore)) {
		t.Errorf("rlimits %q", limits)
	}
	if nnp, seccomp := r.status(t, "NoNewPrivs"), r.status(t, "Seccomp"); nnp != "1" || seccomp != "2" {
		t.Errorf("NoNewPrivs %q Seccomp %q", nnp, seccomp)
	}
	if got := r.one(t, "getppid"); got != "-1 errno=1" {
		t.Errorf("getppid under the filter: %q", got)
	}
}

// denyWithEPERM is a seccomp program that fails the given system calls with EPERM.
func denyWithEPERM(nrs ...int) []sprout.SockFilter {
	const (
		ldAbsW  = 0x20 // BPF_LD | BPF_W | BPF_ABS
		jeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
		retK    = 0x06 // BPF_RET | BPF_K
		allow   = 0x7fff0000
		errnoRe = 0x00050000
	)
	prog := []sprout.SockFilter{{Code: ldAbsW, K: 0}} // seccomp_data.nr
	for _, nr := range nrs {
		prog = append(prog,
			sprout.SockFilter{Code: jeqK, Jt: 0, Jf: 1, K: uint32(nr)},
			sprout.SockFilter{Code: retK, K: errnoRe | uint32(syscall.EPERM)})
	}
	return append(prog, sprout.SockFilter{Code: retK, K: allow})
}

func nsLink(t *testing.T, path string) string {
	t.Helper()
	link, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func TestNewAndJoinedNamespaces(t *testing.T) {
	needRoot(t)
	// A holder in new net and UTS namespaces, whose namespaces the next process joins.
	holder := probeCmd("pause")
	holder.Namespaces = []sprout.Namespace{{Type: sprout.NetNS}, {Type: sprout.UTSNS}, {Type: sprout.IPCNS}}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer holder.Process.Kill()
	nsDir := fmt.Sprintf("/proc/%d/ns/", holder.Process.Pid)
	for _, kind := range []string{"net", "uts", "ipc"} {
		if nsLink(t, nsDir+kind) == nsLink(t, "/proc/self/ns/"+kind) {
			t.Errorf("the holder's %s namespace is the caller's", kind)
		}
	}
	if nsLink(t, nsDir+"mnt") != nsLink(t, "/proc/self/ns/mnt") {
		t.Error("the holder's mount namespace changed, unasked")
	}
	net, err := os.Open(nsDir + "net")
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	cmd := probeCmd("report")
	cmd.Namespaces = []sprout.Namespace{{Type: sprout.NetNS, File: net}}
	r := probeReport(t, cmd)
	if want := "net -> " + nsLink(t, nsDir+"net"); !contains(r["ns"], want) {
		t.Errorf("joined: %q, want %q", r["ns"], want)
	}
	if !contains(r["ns"], "uts -> "+nsLink(t, "/proc/self/ns/uts")) {
		t.Errorf("the UTS namespace changed, unasked: %q", r["ns"])
	}
}

func TestUserNamespaceWithIDMaps(t *testing.T) {
	needRoot(t)
	cmd := probeCmd("report", "cat", "/proc/self/uid_map", "cat", "/proc/self/gid_map")
	cmd.Namespaces = []sprout.Namespace{{Type: sprout.UserNS}}
	cmd.UidMappings = []sprout.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cmd.GidMappings = []sprout.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cmd.Credential = &sprout.Credential{Uid: 0, Gid: 0}
	r := probeReport(t, cmd)
	if uid := r.status(t, "Uid"); uid != "0 0 0 0" {
		t.Errorf("Uid inside %q, want root", uid)
	}
	maps := strings.Join(strings.Fields(strings.Join(r["cat"], " ")), " ")
	if maps != "0 100000 65536 0 100000 65536" {
		t.Errorf("maps %q", maps)
	}
	cmd = probeCmd()
	cmd.UidMappings = []sprout.IDMap{{ContainerID: -1, HostID: 0, Size: 1}}
	var e *sprout.Error
	if err := cmd.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs || e.Errno != syscall.EINVAL {
		t.Errorf("a negative id: %v", err)
	}
}

// cgroup2Mount is where the cgroup2 hierarchy is mounted, from /proc/self/mountinfo.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		for i, field := range fields {
			if field == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && fields[3] == "/" {
				return fields[4]
			}
		}
	}
	t.Fatal("no cgroup2 mount in /proc/self/mountinfo")
	return ""
}

func TestCgroup(t *testing.T) {
	needRoot(t)
	mount := cgroup2Mount(t)
	for i, byPath := range []bool{false, true} {
		name := fmt.Sprintf("sprout-go-test-%d-%d", os.Getpid(), i)
		dir := filepath.Join(mount, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := probeCmd("cat", "/proc/self/cgroup")
		if byPath {
			cmd.CgroupPath = dir
		} else {
			f, err := os.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Cgroup = f
		}
		r := probeReport(t, cmd)
		os.Remove(dir)
		if !contains(r["cat"], "0::/"+name) {
			t.Errorf("byPath %v: /proc/self/cgroup %q, want 0::/%s", byPath, r["cat"], name)
		}
	}
	cmd := probeCmd()
	cmd.CgroupPath = filepath.Join(mount, fmt.Sprintf("sprout-go-test-%d-missing", os.Getpid()))
	if err := cmd.Run(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing cgroup: %v", err)
	}
}

func TestErrorsUnwrapToTheErrno(t *testing.T) {
	err := sprout.Command("/nonexistent/program").Run()
	var e *sprout.Error
	if !errors.As(err, &e) || e.Stage != sprout.StageExec || e.Errno != syscall.ENOENT {
		t.Fatalf("Run = %#v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
		t.Errorf("a missing path: ErrNotExist %v, ErrNotFound %v", errors.Is(err, fs.ErrNotExist), errors.Is(err, exec.ErrNotFound))
	}
	if want := "sprout: exec: /nonexistent/program: No such file or directory"; err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
	if e.Stage.String() != "exec" {
		t.Errorf("Stage.String() = %q", e.Stage)
	}

	err = sprout.Command("sprout-no-such-program").Run()
	if !errors.Is(err, exec.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a name not in PATH: %v", err)
	}

	// execve refused by a filter: EPERM at the exec stage.
	cmd := probeCmd()
	cmd.NoNewPrivs = true
	cmd.Seccomp = denyWithEPERM(syscall.SYS_EXECVE, sysExecveat)
	err = cmd.Run()
	if !errors.Is(err, syscall.EPERM) || !errors.Is(err, fs.ErrPermission) || !errors.As(err, &e) || e.Stage != sprout.StageExec {
		t.Errorf("a refused execve: %v", err)
	}

	// What the library refuses before any process exists, and what the binding does.
	cmd = probeCmd()
	cmd.Rlimits = []sprout.Rlimit{{Resource: sprout.RlimitNofile, Soft: 2, Hard: 1}}
	if err := cmd.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("soft > hard: %v", err)
	}
	if err := sprout.Command(probe, "a\x00b").Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a NUL in an argument: %v", err)
	}
	cmd = probeCmd()
	cmd.Namespaces = []sprout.Namespace{{Type: sprout.NetNS | sprout.UTSNS}}
	if err := cmd.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a combined namespace type: %v", err)
	}
}

func TestVersions(t *testing.T) {
	if sprout.ABIVersion() != sprout.HeaderABIVersion {
		t.Errorf("library ABI %d, header %d", sprout.ABIVersion(), sprout.HeaderABIVersion)
	}
	if want := os.Getenv("SPROUT_VERSION"); want != "" && sprout.Version() != want {
		t.Errorf("Version() = %q, want %q", sprout.Version(), want)
	}
}
