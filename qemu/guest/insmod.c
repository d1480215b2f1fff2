// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's insmod, in place of busybox's: loads one module file as kmod's
 * insmod does, with one finit_module() call, and words a failure the same
 * way. Busybox's insmod retries a failed finit_module() with init_module(),
 * which runs a failing module's init twice and doubles its kernel log lines;
 * the kernel's livepatch selftests compare those lines, and insmod's error
 * (which they log), exactly:
 *   insmod: ERROR: could not insert module test_modules/$MOD_LIVEPATCH.ko: No such device
 *
 * Usage: insmod FILE [PARAM=VALUE]...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* kmod's own words for four errors (mod_strerror() of its tools/insmod.c). */
static const char *mod_strerror(int err)
{
	switch (err) {
	case ENOEXEC:
		return "Invalid module format";
	case ENOENT:
		return "Unknown symbol in module";
	case ESRCH:
		return "Module has wrong symbol version";
	case EINVAL:
		return "Invalid parameters";
	default:
		return strerror(err);
	}
}

int main(int argc, char *argv[])
{
	size_t len = 1;
	char *params, *end;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: insmod FILE [PARAM=VALUE]...\n");
		return EXIT_FAILURE;
	}
	/* The parameters go to the kernel as one string, separated by spaces. */
	for (i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	params = end = calloc(1, len);
	if (!params) {
		perror("insmod");
		return EXIT_FAILURE;
	}
	for (i = 2; i < argc; i++)
		end += sprintf(end, "%s%s", i > 2 ? " " : "", argv[i]);

	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "insmod: ERROR: could not load module %s: %s\n",
			argv[1], strerror(errno));
		return EXIT_FAILURE;
	}
	if (syscall(SYS_finit_module, fd, params, 0) != 0) {
		fprintf(stderr, "insmod: ERROR: could not insert module %s: %s\n",
			argv[1], mod_strerror(errno));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
