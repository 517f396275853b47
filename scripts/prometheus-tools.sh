#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prometheus's promtool (the checker of the text exposition format) and
# node_exporter, for the tests of `psharectl metrics`: taken out of
# Debian's prometheus and prometheus-node-exporter packages into
# /var/cache/pshare/prometheus/, not installed, because installing the
# packages also installs (and, on a host with systemd, starts) a Prometheus
# server and an exporter. Both need only libc. The test VMs see the same
# path (they run on the host's root). Prints the directory; quiet
# otherwise.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=/var/cache/pshare/prometheus

# fetch PACKAGE BINARY: usr/bin/BINARY of PACKAGE into $dir, unless it runs.
fetch() {
	local pkg=$1 bin=$2 tmp

	"$dir/$bin" --version >/dev/null 2>&1 && return 0
	tmp=$(mktemp -d /tmp/pshare-prometheus.XXXXXX)
	# apt-get download writes to the current directory.
	if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		apt-get update -q >/dev/null
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
			die "cannot download Debian's $pkg package (for its $bin)"
	fi
	dpkg-deb --fsys-tarfile "$tmp/${pkg}"_*.deb | tar -x -C "$tmp" "./usr/bin/$bin" ||
		die "the $pkg package has no usr/bin/$bin"
	mkdir -p "$dir"
	mv "$tmp/usr/bin/$bin" "$dir/$bin.new"
	mv "$dir/$bin.new" "$dir/$bin"
	rm -rf "$tmp"
	"$dir/$bin" --version >/dev/null 2>&1 || die "$dir/$bin does not run"
}

fetch prometheus promtool
fetch prometheus-node-exporter prometheus-node-exporter
echo "$dir"
