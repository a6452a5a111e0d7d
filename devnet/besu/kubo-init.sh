#!/bin/sh
# Applies the consortium's Kubo configuration to this member's repo. Mounted into
# the ipfs/kubo container as /container-init.d/010-cie.sh: the image runs it after
# `ipfs init` and before `ipfs daemon`, on every start (so drift is corrected).
#
#   CIE_KUBO_LISTEN   address of the consortium interface (example: 127.0.0.1)
#   CIE_KUBO_PEERS    JSON array of the other members' peers, e.g.
#                     [{"ID":"12D3Koo...","Addrs":["/ip4/10.10.0.12/tcp/4001"]}]
#
# No public bootstrap peers, no MDNS, no DHT, no relays, no public gateway; the
# RPC API and the gateway stay on loopback (the node service shares the host
# network namespace). Fails (and the daemon does not start) if any step fails.
set -eu

LISTEN="${CIE_KUBO_LISTEN:-127.0.0.1}"
PEERS="${CIE_KUBO_PEERS:-[]}"

case "$LISTEN" in
  *[!0-9.]*|"") echo "kubo-init: CIE_KUBO_LISTEN must be one IPv4 address, got '$LISTEN'" >&2; exit 1 ;;
esac

ipfs config --json Bootstrap '[]'
ipfs config --json Discovery.MDNS.Enabled false
ipfs config Routing.Type none
ipfs config --json Addresses.API '"/ip4/127.0.0.1/tcp/5001"'
ipfs config --json Addresses.Gateway '"/ip4/127.0.0.1/tcp/8080"'
ipfs config --json Addresses.Swarm "[\"/ip4/$LISTEN/tcp/4001\"]"
ipfs config --json Addresses.Announce "[\"/ip4/$LISTEN/tcp/4001\"]"
ipfs config --json Addresses.AppendAnnounce '[]'
ipfs config --json Swarm.DisableNatPortMap true
ipfs config --json Swarm.RelayClient.Enabled false
ipfs config --json Swarm.RelayService.Enabled false
ipfs config --json Swarm.Transports.Network.Relay false
ipfs config AutoNAT.ServiceMode disabled
# `ipfs config --json` refuses malformed JSON, so a bad CIE_KUBO_PEERS stops here.
ipfs config --json Peering.Peers "$PEERS"

# Check what the daemon will actually use.
test "$(ipfs config Bootstrap | tr -d ' \n')" = "[]" || { echo "kubo-init: Bootstrap not empty" >&2; exit 1; }
test "$(ipfs config Routing.Type)" = "none" || { echo "kubo-init: Routing.Type is not none" >&2; exit 1; }

# A private swarm key (shared by the consortium out of band) keeps every other
# IPFS node out; with it present the daemon refuses to run without it.
if [ -f "${IPFS_PATH:-/data/ipfs}/swarm.key" ]; then
  echo "kubo-init: private network (swarm.key present)"
fi
echo "kubo-init: configured (swarm $LISTEN:4001, $(printf '%s' "$PEERS" | grep -o '"ID"' | wc -l) consortium peers)"
