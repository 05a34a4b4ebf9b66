#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers the end-to-end tests run against. Used by the README's test command
# and by CI, so the list lives here only.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps.sh installs Debian packages: run it as root (sudo)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# Debian starts services from postinst scripts: a Kamailio with the stock config would listen on the host's 5060.
# The tests start their own Kamailio in a namespace, so forbid service starts while installing (the usual image
# trick), unless the image already does.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi

packages=(
  kamailio                    # registrar/proxy peer (tm, sl, rr, usrloc, registrar, auth, htable are in the base package)
  kamailio-websocket-modules  # SIP over WebSocket for browser peers
  kamailio-tls-modules
  rtpengine-daemon            # media relay: WebRTC (ICE, DTLS-SRTP) <-> plain RTP
  rtpengine-recording-daemon
  baresip-core                # desk phone: auto-answer, plays a tone, records what it hears
  sox                         # tone files and audio checks
  chromium                    # real browser, driven by playwright-core
  sip-tester                  # sipp
  dnsmasq-base                # a name server with SRV and NAPTR records (RFC 3263 server location)
  iproute2        # ip link set lo up inside the namespace
  util-linux      # unshare
  openssl         # self-signed certificates for the TLS and WSS transport tests
  ca-certificates # npm registry over TLS
)
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  packages+=(nodejs npm)
fi
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
