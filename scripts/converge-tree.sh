#!/usr/bin/env bash
# A bare Debian 12 tree for `make test-converge`: what a fresh host has before site.yml (a
# minimal system with Python for Ansible's modules and sudo for its become), made once with
# debootstrap and kept in the cache; prints its path. The converge tests copy it, never change it.
#
#   scripts/converge-tree.sh            # the cached tree, built first if missing
#
# APPLIANCE_CI_CACHE (default /var/cache/appliance-ci) holds the tree and the .deb files the
# converge runs download, so that a second run on the same machine fetches nothing.
set -euo pipefail

cache=${APPLIANCE_CI_CACHE:-/var/cache/appliance-ci}
mirror=${APPLIANCE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a cloud or installer image of Debian 12 has that minbase lacks and the roles assume.
packages=python3,python3-apt,sudo,ca-certificates,systemd,udev,iproute2,procps,kmod
tree="$cache/bookworm-$(printf '%s %s' "$packages" "$mirror" | sha256sum | cut -c1-12)"

if [ ! -f "$tree/.complete" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: debootstrap needs root to build $tree" >&2
    exit 2
  fi
  mkdir -p "$cache"
  # One build at a time: the converges run side by side, and two debootstraps into one
  # $tree.partial fail on each other's files. The second waits, then finds the tree complete.
  exec 9>"$cache/tree.lock"
  flock 9
fi

if [ ! -f "$tree/.complete" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mkdir -p "$cache/debs"
  rm -rf "$tree.partial"
  echo "==> building $tree with debootstrap (about 2 minutes, once per machine)" >&2
  # --cache-dir keeps the downloaded .debs for the next build.
  debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" \
    bookworm "$tree.partial" "$mirror" >&2
  # No daemon starts in the tree while packages install: the converge runs on a build machine.
  printf '#!/bin/sh\nexit 101\n' > "$tree.partial/usr/sbin/policy-rc.d"
  chmod +x "$tree.partial/usr/sbin/policy-rc.d"
  rm -rf "$tree"
  mv "$tree.partial" "$tree"
  touch "$tree/.complete"
fi
echo "$tree"
