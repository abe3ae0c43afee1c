package sprout_test

const (
	sysExecveat     = 281
	sysSchedGetattr = 275
)

// mkdirat (arm64 has no mkdir).
var sysMkdirCalls = []int{34}
