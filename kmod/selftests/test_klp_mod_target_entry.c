// SPDX-License-Identifier: GPL-2.0
/*
 * The patchable entry point of the Rust twin of test_klp_mod_target: Rust
 * code gets no ftrace call site in this kernel, so the function the
 * selftests patch, test_klp_mod_target_show(), is this C shim around its
 * Rust body (klp_rs_mod_target_show() in test_klp_mod_target_rs.rs).
 */
#include <linux/seq_file.h>

int klp_rs_mod_target_show(struct seq_file *m, void *v);
int test_klp_mod_target_show(struct seq_file *m, void *v);

noinline int test_klp_mod_target_show(struct seq_file *m, void *v)
{
	return klp_rs_mod_target_show(m, v);
}
