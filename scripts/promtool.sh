#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# promtool, Prometheus's checker of the text exposition format, for the
# tests of `psharectl metrics`: taken out of Debian's prometheus package
# into /var/cache/pshare/promtool/, not installed, because installing the
# package also installs (and, on a host with systemd, starts) a Prometheus
# server. promtool needs only libc. The test VMs see the same path (they
# run on the host's root). Prints the binary's path; quiet otherwise.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=/var/cache/pshare/promtool
bin=$dir/promtool

if ! "$bin" --version >/dev/null 2>&1; then
	tmp=$(mktemp -d /tmp/pshare-promtool.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download writes to the current directory.
	if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
		apt-get update -q >/dev/null
		(cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) ||
			die "cannot download Debian's prometheus package (for its promtool)"
	fi
	dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb |
		tar -x -C "$tmp" ./usr/bin/promtool ||
		die "the prometheus package has no usr/bin/promtool"
	mkdir -p "$dir"
	mv "$tmp/usr/bin/promtool" "$bin.new"
	mv "$bin.new" "$bin"
	"$bin" --version >/dev/null 2>&1 || die "$bin does not run"
fi
echo "$bin"
