// SPDX-License-Identifier: GPL-2.0
/*
 * The replacement of klp_rs_test_unknown_func's missing function, in C:
 * the post-link step checks that the function a Rust replacement replaces
 * exists, not one a C replacement does (see `patch!`), so this module
 * builds and the kernel is the one to refuse it.
 */
void klp_rs_test_unknown_replacement(void);

void klp_rs_test_unknown_replacement(void)
{
}
