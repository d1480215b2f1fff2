// SPDX-License-Identifier: GPL-2.0
/*
 * The C body of klp_rs_bench_mixed: the fixed int_sqrt(), as the C
 * livepatch has it.
 */
#include "klp_rs_bench_int_sqrt.h"

unsigned long klp_rs_bench_mixed_int_sqrt(unsigned long x);

unsigned long klp_rs_bench_mixed_int_sqrt(unsigned long x)
{
	return klp_rs_bench_int_sqrt(x);
}
