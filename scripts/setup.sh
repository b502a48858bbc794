#!/usr/bin/env bash
# Installs what cmaemu needs to build and test, idempotently:
#   - Debian packages (compilers, musl, multilib, qemu-user, busybox-static,
#     Open MPI for make mpi, and chromium with a font for the demo's pages,
#     rendered headless);
#   - Unicorn >= 2.1: the system's when pkg-config reports one, otherwise
#     Debian trixie's libunicorn-dev unpacked into .deps/ with a private apt
#     configuration (the system's sources are never changed).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deps="$top/.deps"

need_pkgs=()
for p in build-essential pkg-config musl-tools gcc-multilib qemu-user busybox-static python3 perl util-linux chromium fonts-dejavu-core openmpi-bin libopenmpi-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "setup: installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

system_unicorn_ok() {
	local v
	v=$(pkg-config --modversion unicorn 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge 2.1
}

if system_unicorn_ok; then
	exit 0
fi
if [ -f "$deps/usr/lib/x86_64-linux-gnu/libunicorn.a" ] && [ -f "$deps/usr/include/unicorn/unicorn.h" ]; then
	exit 0
fi

echo "setup: fetching Unicorn 2.1 (Debian trixie) into .deps/"
apt_dir="$deps/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$deps/debs"
# Reuse the mirror the system already uses, with suite trixie.
mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk '{print $2}' | grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-trixie-stable.gpg
[ -f "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $mirror trixie main" >"$apt_dir/sources.list"
aptopts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o Debug::NoLocking=1 -o APT::Architecture=amd64 -o APT::Architectures::=amd64)
apt-get "${aptopts[@]}" update -qq
(cd "$deps/debs" && apt-get "${aptopts[@]}" download libunicorn-dev libunicorn2t64)
for d in "$deps"/debs/*.deb; do dpkg -x "$d" "$deps"; done
test -f "$deps/usr/lib/x86_64-linux-gnu/libunicorn.a"
echo "setup: unicorn $(grep -h '^Version' "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/unicorn.pc | awk '{print $2}') in .deps/"
