/* SPDX-License-Identifier: GPL-2.0 */
/*
 * System calls a generated live patch can replace: in a fix, write
 * KLP_RS_SYSCALL_DEFINEn(name, ...) where the kernel has SYSCALL_DEFINEn.
 *
 * SYSCALL_DEFINEn puts the body in __do_sys_<name>(), which is `static
 * inline` and so `notrace`: when GCC does not inline it, it has no ftrace
 * site and live patching cannot redirect it. These macros are the kernel's
 * own definitions (arch/<arch>/include/asm/syscall_wrapper.h of Linux 7.3)
 * with the body renamed __klp_rs_do_sys_<name>(): a new function to the
 * generator, so the arch's entry stub (__x64_sys_<name>(), which has an
 * ftrace site) changes and is what the patch replaces. They define no
 * SYSCALL_METADATA (the running kernel keeps its own) and no error-injection
 * entry (the patch adds no table the kernel does not need).
 *
 * `cargo xtask generate` puts this directory on the include path:
 * #include <klp-rs/syscall.h>.
 */
#ifndef _KLP_RS_SYSCALL_H
#define _KLP_RS_SYSCALL_H

#include <linux/syscalls.h>

#define KLP_RS_SYSCALL_DEFINE1(name, ...) __KLP_RS_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KLP_RS_SYSCALL_DEFINE2(name, ...) __KLP_RS_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KLP_RS_SYSCALL_DEFINE3(name, ...) __KLP_RS_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KLP_RS_SYSCALL_DEFINE4(name, ...) __KLP_RS_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KLP_RS_SYSCALL_DEFINE5(name, ...) __KLP_RS_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KLP_RS_SYSCALL_DEFINE6(name, ...) __KLP_RS_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)

/* The sign-extending wrapper every arch shares, around the renamed body. */
#define __KLP_RS_SE_SYS(x, name, ...)						\
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__))		\
	{									\
		long ret = __klp_rs_do_sys##name(__MAP(x, __SC_CAST, __VA_ARGS__));\
		__MAP(x, __SC_TEST, __VA_ARGS__);				\
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__));		\
		return ret;							\
	}

#define __KLP_RS_DECLARE(x, name, ...)						\
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__));		\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#if defined(CONFIG_X86_64)

#define __KLP_RS_SYSCALL_DEFINEx(x, name, ...)					\
	__KLP_RS_DECLARE(x, name, __VA_ARGS__);					\
	__X64_SYS_STUBx(x, name, __VA_ARGS__)					\
	__IA32_SYS_STUBx(x, name, __VA_ARGS__)					\
	__KLP_RS_SE_SYS(x, name, __VA_ARGS__)					\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#elif defined(CONFIG_ARM64)

#define __KLP_RS_SYSCALL_DEFINEx(x, name, ...)					\
	asmlinkage long __arm64_sys##name(const struct pt_regs *regs);		\
	__KLP_RS_DECLARE(x, name, __VA_ARGS__);					\
	asmlinkage long __arm64_sys##name(const struct pt_regs *regs)		\
	{									\
		return __se_sys##name(SC_ARM64_REGS_TO_ARGS(x, __VA_ARGS__));	\
	}									\
	__KLP_RS_SE_SYS(x, name, __VA_ARGS__)					\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#elif defined(CONFIG_S390)

#define __KLP_RS_SYSCALL_DEFINEx(x, name, ...)					\
	long __s390x_sys##name(struct pt_regs *regs);				\
	__KLP_RS_DECLARE(x, name, __VA_ARGS__);					\
	long __s390x_sys##name(struct pt_regs *regs)				\
	{									\
		return __se_sys##name(SC_S390_REGS_TO_ARGS(x, __VA_ARGS__));	\
	}									\
	__KLP_RS_SE_SYS(x, name, __VA_ARGS__)					\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#elif defined(CONFIG_PPC64) && defined(CONFIG_ARCH_HAS_SYSCALL_WRAPPER)

#define __KLP_RS_SYSCALL_DEFINEx(x, name, ...)					\
	long sys##name(const struct pt_regs *regs);				\
	__KLP_RS_DECLARE(x, name, __VA_ARGS__);					\
	long sys##name(const struct pt_regs *regs)				\
	{									\
		return __se_sys##name(SC_POWERPC_REGS_TO_ARGS(x, __VA_ARGS__));	\
	}									\
	__KLP_RS_SE_SYS(x, name, __VA_ARGS__)					\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#elif !defined(CONFIG_ARCH_HAS_SYSCALL_WRAPPER)

/* include/linux/syscalls.h: sys_<name>() is an alias of __se_sys_<name>(). */
#define __KLP_RS_SYSCALL_DEFINEx(x, name, ...)					\
	__diag_push();								\
	__diag_ignore(GCC, 8, "-Wattribute-alias",				\
		      "Type aliasing is used to sanitize syscall arguments");	\
	asmlinkage long sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))		\
		__attribute__((alias(__stringify(__se_sys##name))));		\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__));\
	asmlinkage long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__));	\
	asmlinkage long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__))	\
	{									\
		long ret = __klp_rs_do_sys##name(__MAP(x, __SC_CAST, __VA_ARGS__));\
		__MAP(x, __SC_TEST, __VA_ARGS__);				\
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__));		\
		return ret;							\
	}									\
	__diag_pop();								\
	static inline long __klp_rs_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#else
#error "klp-rs/syscall.h: no definition for this arch's system call wrappers"
#endif

#endif /* _KLP_RS_SYSCALL_H */
