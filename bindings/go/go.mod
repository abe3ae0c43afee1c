module sprout.invalid/sprout

go 1.19
