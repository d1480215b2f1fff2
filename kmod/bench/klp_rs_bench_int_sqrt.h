/* SPDX-License-Identifier: GPL-2.0 */
/*
 * int_sqrt() of lib/math/int_sqrt.c with the bench's fix
 * (kmod/bench/int_sqrt.patch): what the C livepatch and the bare ftrace
 * redirect of `cargo xtask bench patched-call` call instead, line for line
 * the fixed kernel function.
 */
#include <linux/bitops.h>

static unsigned long klp_rs_bench_int_sqrt(unsigned long x)
{
	unsigned long b, m, y = 0;

	if (x < 4)
		return x != 0;

	m = 1UL << (__fls(x) & ~1UL);
	while (m != 0) {
		b = y + m;
		y >>= 1;

		if (x >= b) {
			x -= b;
			y += m;
		}
		m >>= 2;
	}

	return y;
}
