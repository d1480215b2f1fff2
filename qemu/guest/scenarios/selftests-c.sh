# The kernel's livepatch selftests, unmodified, against the C test modules
# built from the same kernel tree: the reference the Rust twins must match.
. /scenarios/kselftest.sh

kselftest_guest
kselftests /selftests/c "C test modules" kselftest_cleanup
