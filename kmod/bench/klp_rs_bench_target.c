// SPDX-License-Identifier: GPL-2.0
/*
 * The target and the clock of `cargo xtask bench patched-call` and
 * `cargo xtask bench transition`.
 *
 * /proc/klp_rs_bench_call: writing N calls int_sqrt(KLP_RS_BENCH_X) N times
 * in a loop, interrupts off, between two reads of the kernel's clock; a
 * read says "calls N ns T sum S" of the last loop. Under QEMU's
 * `-icount shift=0,sleep=off` the guest clock advances one nanosecond per
 * instruction executed, so T/N is the instructions of one call (the
 * loop's own included), exactly, whatever the host does. S must be
 * N * int_sqrt(KLP_RS_BENCH_X) whatever replaces int_sqrt.
 *
 * klp_rs_bench_fn_00() .. klp_rs_bench_fn_99(): what the transition
 * latency patches replace. Each read of /proc/klp_rs_bench_fns calls all of
 * them: the bench's load is one shell per CPU reading it in a tight loop
 * (a task the transition switches on its way back to user space).
 */

#include <linux/irqflags.h>
#include <linux/kstrtox.h>
#include <linux/math.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>

/* A few rounds of int_sqrt's loop: 1000 = 0b1111101000, 5 rounds. */
#define KLP_RS_BENCH_X 1000UL

static DEFINE_MUTEX(klp_rs_bench_lock);
static unsigned long last_calls, last_sum;
static u64 last_ns;

#define KLP_RS_BENCH_FN(n)                                                   \
	noinline __attribute__((noipa)) int klp_rs_bench_fn_##n(void)       \
	{                                                                    \
		return 0;                                                    \
	}
#define KLP_RS_BENCH_TEN(t)                                                  \
	KLP_RS_BENCH_FN(t##0) KLP_RS_BENCH_FN(t##1) KLP_RS_BENCH_FN(t##2)    \
	KLP_RS_BENCH_FN(t##3) KLP_RS_BENCH_FN(t##4) KLP_RS_BENCH_FN(t##5)    \
	KLP_RS_BENCH_FN(t##6) KLP_RS_BENCH_FN(t##7) KLP_RS_BENCH_FN(t##8)    \
	KLP_RS_BENCH_FN(t##9)
KLP_RS_BENCH_TEN(0) KLP_RS_BENCH_TEN(1) KLP_RS_BENCH_TEN(2) KLP_RS_BENCH_TEN(3)
KLP_RS_BENCH_TEN(4) KLP_RS_BENCH_TEN(5) KLP_RS_BENCH_TEN(6) KLP_RS_BENCH_TEN(7)
KLP_RS_BENCH_TEN(8) KLP_RS_BENCH_TEN(9)

#define KLP_RS_BENCH_REF(n) klp_rs_bench_fn_##n,
#define KLP_RS_BENCH_REFS(t)                                                 \
	KLP_RS_BENCH_REF(t##0) KLP_RS_BENCH_REF(t##1) KLP_RS_BENCH_REF(t##2) \
	KLP_RS_BENCH_REF(t##3) KLP_RS_BENCH_REF(t##4) KLP_RS_BENCH_REF(t##5) \
	KLP_RS_BENCH_REF(t##6) KLP_RS_BENCH_REF(t##7) KLP_RS_BENCH_REF(t##8) \
	KLP_RS_BENCH_REF(t##9)
static int (*const klp_rs_bench_fns[])(void) = {
	KLP_RS_BENCH_REFS(0) KLP_RS_BENCH_REFS(1) KLP_RS_BENCH_REFS(2)
	KLP_RS_BENCH_REFS(3) KLP_RS_BENCH_REFS(4) KLP_RS_BENCH_REFS(5)
	KLP_RS_BENCH_REFS(6) KLP_RS_BENCH_REFS(7) KLP_RS_BENCH_REFS(8)
	KLP_RS_BENCH_REFS(9)
};

static int klp_rs_bench_fns_show(struct seq_file *m, void *v)
{
	unsigned int i;
	int sum = 0;

	for (i = 0; i < ARRAY_SIZE(klp_rs_bench_fns); i++)
		sum += klp_rs_bench_fns[i]();
	seq_printf(m, "%d\n", sum);
	return 0;
}

static ssize_t klp_rs_bench_call_write(struct file *file, const char __user *buf,
				       size_t count, loff_t *ppos)
{
	unsigned long n, i, sum = 0, flags;
	u64 start, end;
	int err;

	err = kstrtoul_from_user(buf, count, 10, &n);
	if (err)
		return err;
	mutex_lock(&klp_rs_bench_lock);
	local_irq_save(flags);
	start = ktime_get_ns();
	for (i = 0; i < n; i++)
		sum += int_sqrt(KLP_RS_BENCH_X);
	end = ktime_get_ns();
	local_irq_restore(flags);
	last_calls = n;
	last_sum = sum;
	last_ns = end - start;
	mutex_unlock(&klp_rs_bench_lock);
	return count;
}

static int klp_rs_bench_call_show(struct seq_file *m, void *v)
{
	mutex_lock(&klp_rs_bench_lock);
	seq_printf(m, "calls %lu ns %llu sum %lu\n", last_calls,
		   (unsigned long long)last_ns, last_sum);
	mutex_unlock(&klp_rs_bench_lock);
	return 0;
}

static int klp_rs_bench_call_open(struct inode *inode, struct file *file)
{
	return single_open(file, klp_rs_bench_call_show, NULL);
}

static const struct proc_ops klp_rs_bench_call_ops = {
	.proc_open = klp_rs_bench_call_open,
	.proc_read = seq_read,
	.proc_write = klp_rs_bench_call_write,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static int __init klp_rs_bench_init(void)
{
	if (!proc_create("klp_rs_bench_call", 0644, NULL, &klp_rs_bench_call_ops))
		return -ENOMEM;
	if (!proc_create_single("klp_rs_bench_fns", 0444, NULL, klp_rs_bench_fns_show)) {
		remove_proc_entry("klp_rs_bench_call", NULL);
		return -ENOMEM;
	}
	return 0;
}

static void __exit klp_rs_bench_exit(void)
{
	remove_proc_entry("klp_rs_bench_fns", NULL);
	remove_proc_entry("klp_rs_bench_call", NULL);
}

module_init(klp_rs_bench_init);
module_exit(klp_rs_bench_exit);
MODULE_DESCRIPTION("klp-rs: the target and clock of the patched-call and transition benches");
MODULE_LICENSE("GPL");
