# The kernel's livepatch selftests, unmodified, against the Rust twins of
# their test modules (kmod/selftests/, same names). A script whose modules
# lack a twin fails naming them: the C modules are never used here.
. /scenarios/kselftest.sh

kselftest_guest
kselftests /selftests/rust "Rust twins" kselftest_cleanup
