package sprout

import (
	"os"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// List returns the pids of the running (not yet waited for) processes started with
// ContainerID container, ascending; container "" lists every process sprout tracks.
func List(container string) ([]int, error) {
	pids, err := csprout.List(container, container == "")
	if err != nil {
		return nil, os.NewSyscallError("sprout_list", err)
	}
	return pids, nil
}

// SignalContainer sends sig to every running process started with ContainerID container,
// through their pidfds, and returns how many were signalled.
func SignalContainer(container string, sig syscall.Signal) (int, error) {
	n, err := csprout.SignalContainer(container, int(sig))
	if err != nil {
		return 0, os.NewSyscallError("sprout_signal_container", err)
	}
	return n, nil
}

// Version is the loaded library's version, e.g. "0.1.0".
func Version() string { return csprout.Version() }

// ABIVersion is the ABI generation of the loaded library (1); the binding was built against
// HeaderABIVersion.
func ABIVersion() uint32 { return csprout.ABIVersion() }

// HeaderABIVersion is the ABI generation of the sprout.h the binding was built against.
const HeaderABIVersion = csprout.HeaderABIVersion
