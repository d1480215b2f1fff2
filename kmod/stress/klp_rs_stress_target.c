// SPDX-License-Identifier: GPL-2.0
/*
 * The target of the `stress` suite. Two functions the suite's patches
 * replace, each returning the version of the code that ran (0 here, the
 * patch's version there):
 * - klp_rs_stress_value(), called in a tight loop by one kernel thread per
 *   CPU, which checks every result against `allowed`, and by every read of
 *   /proc/klp_rs_stress;
 * - klp_rs_stress_nap(), which first sleeps `nap_ms`: a read of
 *   /proc/klp_rs_stress_nap sleeps inside a patched function, so a
 *   transition must wait for that task.
 * /proc/klp_rs_stress_stats: "calls N wrong N last_wrong N".
 */

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

/*
 * Bit N set: a call may return N. The suite widens it to old | new before a
 * transition starts and narrows it to new once the transition is complete,
 * so a call may return what `allowed` allowed just before it or just after
 * it, and nothing else.
 */
static unsigned int allowed = 1;
module_param(allowed, uint, 0644);

static unsigned int nap_ms = 100;
module_param(nap_ms, uint, 0644);

static atomic64_t calls = ATOMIC64_INIT(0);
static atomic64_t wrong = ATOMIC64_INIT(0);
static int last_wrong = -1;

noinline __attribute__((noipa)) int klp_rs_stress_value(void)
{
	return 0;
}

noinline __attribute__((noipa)) int klp_rs_stress_nap(unsigned int ms)
{
	msleep(ms);
	return 0;
}

/* Counts `v` as wrong unless `allowed` read before the call (`before`) or
 * now allows it. */
static void klp_rs_stress_check(int v, unsigned int before)
{
	unsigned int allow;

	smp_rmb();
	allow = before | READ_ONCE(allowed);
	if (v < 0 || v > 31 || !(allow & (1U << v))) {
		atomic64_inc(&wrong);
		WRITE_ONCE(last_wrong, v);
	}
}

/* One per CPU: calls the patched function in a tight loop, at the lowest
 * priority; sleeps briefly every 1024 calls, where the transition switches
 * it (a kernel thread is switched only while it is not running). */
static int klp_rs_stress_caller(void *unused)
{
	unsigned long n = 0;

	/* Every cycle the CPU has to spare, but the suite's steps first. */
	set_user_nice(current, MAX_NICE);
	while (!kthread_should_stop()) {
		unsigned int before = READ_ONCE(allowed);

		smp_rmb();
		klp_rs_stress_check(klp_rs_stress_value(), before);
		atomic64_inc(&calls);
		if (++n % 1024 == 0)
			usleep_range(200, 400);
	}
	return 0;
}

static struct task_struct *callers[NR_CPUS];

static int klp_rs_stress_show(struct seq_file *m, void *v)
{
	unsigned int before = READ_ONCE(allowed);
	int value;

	smp_rmb();
	value = klp_rs_stress_value();
	klp_rs_stress_check(value, before);
	seq_printf(m, "value %d\n", value);
	return 0;
}

static int klp_rs_stress_nap_show(struct seq_file *m, void *v)
{
	unsigned int before = READ_ONCE(allowed);
	int value;

	smp_rmb();
	value = klp_rs_stress_nap(READ_ONCE(nap_ms));
	klp_rs_stress_check(value, before);
	seq_printf(m, "value %d\n", value);
	return 0;
}

static int klp_rs_stress_stats_show(struct seq_file *m, void *v)
{
	seq_printf(m, "calls %lld wrong %lld last_wrong %d\n",
		   (long long)atomic64_read(&calls),
		   (long long)atomic64_read(&wrong), READ_ONCE(last_wrong));
	return 0;
}

static void klp_rs_stress_stop(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		if (callers[cpu])
			kthread_stop(callers[cpu]);
		callers[cpu] = NULL;
	}
	remove_proc_entry("klp_rs_stress", NULL);
	remove_proc_entry("klp_rs_stress_nap", NULL);
	remove_proc_entry("klp_rs_stress_stats", NULL);
}

static int __init klp_rs_stress_init(void)
{
	unsigned int cpu;

	if (!proc_create_single("klp_rs_stress", 0444, NULL, klp_rs_stress_show) ||
	    !proc_create_single("klp_rs_stress_nap", 0444, NULL, klp_rs_stress_nap_show) ||
	    !proc_create_single("klp_rs_stress_stats", 0444, NULL, klp_rs_stress_stats_show)) {
		klp_rs_stress_stop();
		return -ENOMEM;
	}
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct task_struct *t = kthread_run_on_cpu(klp_rs_stress_caller, NULL, cpu,
							   "klp_rs_stress/%u");

		if (IS_ERR(t)) {
			cpus_read_unlock();
			klp_rs_stress_stop();
			return PTR_ERR(t);
		}
		callers[cpu] = t;
	}
	cpus_read_unlock();
	return 0;
}

static void __exit klp_rs_stress_exit(void)
{
	klp_rs_stress_stop();
}

module_init(klp_rs_stress_init);
module_exit(klp_rs_stress_exit);
MODULE_DESCRIPTION("klp-rs: the target of the stress suite");
MODULE_LICENSE("GPL");
