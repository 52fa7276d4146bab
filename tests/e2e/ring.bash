# ring.bash - need_ring, for the end-to-end tests that say io_uring made
# a commit's steps (install_ring.bats, the power-cut suites).

# need_ring: skip the test unless this process may set up an io_uring,
# asked of the kernel itself (io_uring_setup(2), 425 on every
# architecture, with a zeroed struct io_uring_params of 120 bytes) by
# perl-base, which every Debian has.  It fails where
# kernel.io_uring_disabled forbids it, a seccomp filter refuses it, or
# the kernel has none: there hotswap makes every step by plain calls,
# which the other tests cover.
need_ring() {
	perl -e '$p = "\0" x 120; exit(syscall(425, 1, $p) < 0)' ||
		skip "io_uring_setup(2) fails here (kernel.io_uring_disabled, seccomp, or no io_uring)"
}
