case "$1" in
remove)
	klp_rs_removed
	;;
esac
exit 0
