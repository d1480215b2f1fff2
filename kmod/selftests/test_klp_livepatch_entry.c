// SPDX-License-Identifier: GPL-2.0
/*
 * The replacement function of the Rust twin of test_klp_livepatch, as a C
 * entry point so that ftrace can trace it by name (test-ftrace.sh does):
 * Rust functions of this kernel have no ftrace call site. Its body is Rust
 * (klp_rs_livepatch_cmdline_proc_show() in test_klp_livepatch_rs.rs).
 */
#include <linux/seq_file.h>

int klp_rs_livepatch_cmdline_proc_show(struct seq_file *m, void *v);
int livepatch_cmdline_proc_show(struct seq_file *m, void *v);

int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	return klp_rs_livepatch_cmdline_proc_show(m, v);
}
