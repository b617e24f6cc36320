#!/usr/bin/env bash
# Installs the system programs the tests use as independent peers and checkers:
#   openssl (HMAC cross-checks, DTLS peer), gnutls-bin (gnutls-cli/serv), libcoap3-bin (coap-client/server),
#   tshark (decrypting captured sessions with our key log).
# Debian/Ubuntu only; needs root (or sudo). Safe to run again: it does nothing when all are present.
set -euo pipefail

packages=(openssl gnutls-bin libcoap3-bin tshark)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all present (${packages[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-test-deps: installed ${missing[*]}"
