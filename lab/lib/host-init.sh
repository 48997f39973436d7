# shellcheck shell=bash
# Runs as the first process of a lab host, inside `ip netns exec <ns> unshare --mount --uts`:
# gives the host its own hostname, cgroup mounts and /run, then holds the namespaces open.
# Args: HOSTNAME HOSTDIR CGROUP_MOUNTS_FILE
set -eu
name=$1 dir=$2 cgmounts=$3
hostname "$name"
# `ip netns exec` remounted /sys, which hides the cgroup mounts: recreate the root namespace's set.
while read -r src target fstype opts; do
  mkdir -p "$target"
  if [ "$fstype" = tmpfs ]; then
    mount -t tmpfs -o mode=755 "$src" "$target"
  else
    mount -t "$fstype" -o "$opts" "$src" "$target"
  fi
done <"$cgmounts"
# A private /run (so /var/run/docker.sock is this host's own socket), backed by a state directory the
# root namespace can see.
mount --bind "$dir/run" /run
mkdir -p /run/sshd
chmod 755 /run/sshd
cd /
echo $$ >"$dir/holder.pid"
exec sleep infinity
