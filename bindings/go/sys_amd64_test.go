package sprout_test

const (
	sysExecveat     = 322
	sysSchedGetattr = 315
)
