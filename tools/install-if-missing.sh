#!/bin/sh
# Debian's PACKAGE, installed when none of COMMANDS is found and this user can (as root, or with
# passwordless sudo). It never fails the build: when it cannot, one line says why, and INSTEAD
# says what happens then.
#
#   sh tools/install-if-missing.sh TARGET PACKAGE PURPOSE INSTEAD COMMAND...
target=$1 package=$2 purpose=$3 instead=$4
shift 4
for command in "$@"; do
  command -v "$command" >/dev/null 2>&1 && exit 0
  [ -x "/usr/sbin/$command" ] && exit 0
done
if [ "$(id -u)" = 0 ]; then as=""
elif sudo -n true >/dev/null 2>&1; then as="sudo -n"
else
  echo "$target: $package is missing and this user cannot install it (no root, no passwordless sudo): $instead"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$target: $package is missing and there is no apt-get: $instead"
  exit 0
fi
echo "$target: installing Debian's $package, $purpose"
install="env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $package"
$as $install >/dev/null 2>&1 \
  || { $as apt-get update -qq >/dev/null 2>&1 && $as $install >/dev/null 2>&1; } \
  || echo "$target: apt-get could not install $package: $instead"
exit 0
