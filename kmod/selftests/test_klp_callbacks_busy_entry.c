// SPDX-License-Identifier: GPL-2.0
/*
 * The patchable entry point of the Rust twin of test_klp_callbacks_busy.
 *
 * Rust code built by this kernel gets no ftrace call site (no __fentry__),
 * and a live patch can only replace a function that has one; so the function
 * the selftests patch, busymod_work_func(), is this C shim and its body is
 * Rust (klp_rs_busymod_work() in test_klp_callbacks_busy_rs.rs). It must stay
 * on the worker's stack while the body runs (no tail call: see Kbuild), so
 * that it blocks a patching transition as the C original does.
 */
#include <linux/workqueue.h>

void klp_rs_busymod_work(struct work_struct *work);
void busymod_work_func(struct work_struct *work);

void busymod_work_func(struct work_struct *work)
{
	klp_rs_busymod_work(work);
}
