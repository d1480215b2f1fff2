# `$1`: 0 on erase, 1 or more when an upgrade removes the old version.
if [ "$1" = 0 ]; then
	klp_rs_removed
fi
