package sprout_test

const (
	sysExecveat     = 281
	sysSchedGetattr = 275
)
