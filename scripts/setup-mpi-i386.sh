#!/usr/bin/env bash
# Debian's i386 Open MPI (openmpi-bin, libopenmpi3, libopenmpi-dev and what
# the first two depend on), unpacked into .deps/i386-mpi/ as a sysroot for
# `cmaemu run -L` and `gcc -m32`, for the i386 jobs of make mpi. The .deb
# files come through a private apt configuration for the i386 architecture
# of the host's Debian release, with an empty dpkg status, so that apt
# resolves the dependencies from the i386 Packages index alone; they are
# unpacked with dpkg-deb -x. The system's sources, packages and
# architectures are never changed. ldconfig -r then writes the sysroot's
# ld.so.cache (the i386 loader finds /usr/lib/i386-linux-gnu through it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deps="$top/.deps"
root="$deps/i386-mpi"

if [ -x "$root/usr/bin/orterun" ] && [ -f "$root/etc/ld.so.cache" ] &&
	[ -f "$root/usr/lib/i386-linux-gnu/openmpi/include/mpi.h" ]; then
	exit 0
fi

suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
suite=${suite:-bookworm}
echo "setup: fetching Debian $suite's i386 Open MPI into .deps/i386-mpi/"
apt_dir="$deps/apt-i386"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
: >"$apt_dir/status"
mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk '{print $2}' | grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb [arch=i386 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$apt_dir/sources.list"
aptopts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=$apt_dir/status"
	-o Debug::NoLocking=1 -o APT::Architecture=i386 -o APT::Architectures::=i386
	-o APT::Install-Recommends=false -o APT::Sandbox::User=root)
apt-get "${aptopts[@]}" update -qq
apt-get "${aptopts[@]}" install -d -y -qq openmpi-bin libopenmpi3 >/dev/null
# mpi.h and libmpi.so, without the compilers libopenmpi-dev depends on.
(cd "$apt_dir/cache/archives" && apt-get "${aptopts[@]}" download -qq libopenmpi-dev)

rm -rf "$root.new"
mkdir -p "$root.new"
for d in "$apt_dir"/cache/archives/*.deb; do dpkg-deb -x "$d" "$root.new"; done
echo 'include /etc/ld.so.conf.d/*.conf' >"$root.new/etc/ld.so.conf"
ldconfig -r "$root.new"
rm -rf "$root"
mv "$root.new" "$root"
echo "setup: $(ls "$apt_dir"/cache/archives/*.deb | wc -l) i386 packages in .deps/i386-mpi/ ($(du -sh "$root" | cut -f1))"
