/* SPDX-License-Identifier: GPL-2.0 */
/* The headers of the kernel facilities `kmod/testing` wraps. */
#include <linux/kprobes.h>
#include <linux/proc_fs.h>
