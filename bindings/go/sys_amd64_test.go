package sprout_test

const (
	sysExecveat     = 322
	sysSchedGetattr = 315
)

// mkdir and mkdirat: the C library's mkdir uses one or the other.
var sysMkdirCalls = []int{83, 258}
