package sprout_test

const sysExecveat = 322
