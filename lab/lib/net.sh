# shellcheck shell=bash
# Bridge, network namespaces and veths (sourced by lab.sh).

net_check_free() {
  # Refuse to overlay an existing route to the lab range that the lab did not create.
  local r
  r=$(ip -4 route show to match 10.200.0.1 | grep -v '^default' | grep -v "dev $LAB_BRIDGE" || true)
  [[ -z $r ]] || die "10.200.0.0/16 is already routed on this machine ($r); the lab needs that range free"
}

# Bridged traffic between the hosts passes the root namespace's FORWARD chain when br_netfilter is on.
# The lab never changes that firewall; it only says why the hosts would not see each other.
net_warn_forward() {
  [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null) == 1 ]] || return 0
  iptables -w 5 -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP' || return 0
  warn "the root namespace's iptables FORWARD policy is DROP and bridge-nf-call-iptables is 1 (a dockerd in the root namespace does this): traffic between lab hosts will be dropped. The lab does not touch that firewall; stop whatever set it, or run the lab on a machine without it."
}

net_bridge_up() {
  ip link add "$LAB_BRIDGE" type bridge
  ip addr add "$LAB_GW/$LAB_PREFIX" dev "$LAB_BRIDGE"
  ip link set "$LAB_BRIDGE" up
}

net_host_up() {
  local h=$1 ns veth
  ns=$(host_netns "$h")
  veth=$(host_veth "$h")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$LAB_BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(host_addr "$h")/$LAB_PREFIX" dev eth0
  ip -n "$ns" link set eth0 up
}

net_host_down() {
  local h=$1 ns veth
  ns=$(host_netns "$h")
  veth=$(host_veth "$h")
  # Deleting the root-side end removes the pair at once; namespace teardown alone is asynchronous.
  ip link del "$veth" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}

net_bridge_down() { ip link del "$LAB_BRIDGE" 2>/dev/null || true; }

net_names_free() {
  local h
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 && return 1
  for h in "${LAB_ALL_HOSTS[@]}"; do
    ip link show "$(host_veth "$h")" >/dev/null 2>&1 && return 1
    [[ -e /run/netns/$(host_netns "$h") ]] && return 1
  done
  return 0
}
