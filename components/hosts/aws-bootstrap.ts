/**
 * Pure pieces of the AWS hosts: which ports replicas open to each other, the boot script, and the scripts that join
 * the engine to the existing UCP/Swarm cluster and wait until UCP lists the node. DTR nodes must be UCP workers.
 */
import * as crypto from "crypto";
import { SECRET_ENV } from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { shellQuote } from "../dtr-cli/shell";

export interface PortRule {
    protocol: "tcp" | "udp" | "50";
    fromPort?: number;
    toPort?: number;
    description: string;
}

/** Between cluster members: DTR, UCP and Swarm ports (DTR-FACTS.md "Health, quorum, ports"), and ESP. */
export const CLUSTER_PORT_RULES: readonly PortRule[] = [
    { protocol: "tcp", fromPort: 80, toPort: 80, description: "DTR HTTP" },
    { protocol: "tcp", fromPort: 443, toPort: 443, description: "DTR/UCP HTTPS" },
    { protocol: "tcp", fromPort: 179, toPort: 179, description: "Calico BGP" },
    { protocol: "tcp", fromPort: 2376, toPort: 2376, description: "Engine TLS" },
    { protocol: "tcp", fromPort: 2377, toPort: 2377, description: "Swarm management" },
    { protocol: "udp", fromPort: 4789, toPort: 4789, description: "VXLAN overlay data" },
    { protocol: "tcp", fromPort: 7946, toPort: 7946, description: "Swarm gossip (tcp)" },
    { protocol: "udp", fromPort: 7946, toPort: 7946, description: "Swarm gossip (udp)" },
    { protocol: "tcp", fromPort: 6443, toPort: 6443, description: "Kubernetes API" },
    { protocol: "tcp", fromPort: 6444, toPort: 6444, description: "Kubernetes API reverse proxy" },
    { protocol: "tcp", fromPort: 10250, toPort: 10250, description: "Kubelet" },
    { protocol: "tcp", fromPort: 12376, toPort: 12376, description: "UCP TLS proxy" },
    { protocol: "tcp", fromPort: 12378, toPort: 12378, description: "UCP etcd proxy" },
    { protocol: "tcp", fromPort: 12379, toPort: 12386, description: "UCP internal (etcd, auth, metrics)" },
    { protocol: "tcp", fromPort: 12388, toPort: 12388, description: "UCP Kubernetes API proxy" },
    { protocol: "50", description: "IPsec ESP for encrypted overlays" },
];

/** From clients and the load balancer (NLB health checks come from inside the VPC). */
export const CLIENT_PORTS: readonly number[] = [80, 443];

/** An SSH host key: the private half for the instance (OpenSSH format, a secret), the public half to pin. */
export interface SshHostKey {
    /** `-----BEGIN OPENSSH PRIVATE KEY-----` ..., unencrypted: sshd reads it at boot. */
    privateKey: string;
    /** `ssh-ed25519 AAAA...`: what `connection.hostKey` must equal. */
    publicKey: string;
}

const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The ed25519 host key of one instance, derived from a secret: the seed is HMAC-SHA256(secret, label). The same secret
 * and label give the same key on every run, so nothing but the secret has to be kept, and the private half never
 * exists outside secret values. Whoever holds the secret can compute the host keys; AwsHosts derives them from the SSH
 * login key by default, whose holder can log into the hosts (and read their host keys) anyway.
 */
export function sshHostKey(secret: string, label: string): SshHostKey {
    if (!secret.trim()) throw new Error("sshHostKey: the secret is empty");
    const seed = crypto.createHmac("sha256", secret.trim()).update(`dtr-ha ssh host key v1\n${label}`).digest();
    const priv = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
    const pub = Buffer.from(crypto.createPublicKey(priv).export({ format: "jwk" }).x as string, "base64url");
    const str = (b: Buffer | string) => {
        const v = Buffer.from(b);
        const n = Buffer.alloc(4);
        n.writeUInt32BE(v.length);
        return Buffer.concat([n, v]);
    };
    const u32 = (x: number) => {
        const n = Buffer.alloc(4);
        n.writeUInt32BE(x);
        return n;
    };
    const pubBlob = Buffer.concat([str("ssh-ed25519"), str(pub)]);
    // PROTOCOL.key: check integers (any value, equal; derived so the text is stable), the key, a comment, padding 1, 2, 3...
    const check = crypto.createHash("sha256").update(seed).digest().readUInt32BE(0);
    let section = Buffer.concat([u32(check), u32(check), str("ssh-ed25519"), str(pub), str(Buffer.concat([seed, pub])), str(label)]);
    const pad = (8 - (section.length % 8)) % 8;
    section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "binary"),
        str("none"),
        str("none"),
        str(""),
        u32(1),
        str(pubBlob),
        str(section),
    ]).toString("base64");
    return {
        privateKey: [
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            ...(body.match(/.{1,70}/g) ?? []),
            "-----END OPENSSH PRIVATE KEY-----",
            "",
        ].join("\n"),
        publicKey: `ssh-ed25519 ${pubBlob.toString("base64")}`,
    };
}

export interface UserDataOptions {
    /** Hostname the node gets; it becomes the UCP node name. */
    hostname: string;
    /**
     * The host key sshd must serve from its first start (cloud-init writes it before sshd starts), so that the command
     * provider can pin it. Makes the user data a secret: see userData.
     */
    hostKey?: SshHostKey;
    /** Container engine install script URL (e.g. Mirantis Container Runtime's). */
    engineInstallScriptUrl: string;
    /** Passed to the script as CHANNEL / VERSION when given. */
    engineChannel?: string;
    engineVersion?: string;
}

/** Written by the user data once the engine is installed; the join waits for it. */
export const BOOTSTRAPPED_MARKER = "/var/lib/dtr-ha-bootstrapped";

/** Variables the SSH server must accept so the command provider can pass secrets without argv. */
export const ACCEPTED_ENV = [
    SECRET_ENV.ucpPassword,
    SECRET_ENV.dtrKey,
    USERNAME_ENV,
    "SWARM_JOIN_TOKEN",
    "DTR_*",
    "PULUMI_COMMAND_*",
    "AWS_*",
    "S3_ENDPOINT",
    "S3_FORCE_PATH_STYLE",
];

/**
 * cloud-init user data: the boot script, and with `hostKey` a cloud-config part that installs that key as the only
 * host key sshd serves (multipart MIME). Join tokens and passwords never go here: they arrive later over SSH, in the
 * environment, once the host key has been checked.
 *
 * With `hostKey` the user data holds that host's PRIVATE key, so the caller must pass it as a secret (it is then
 * encrypted in the Pulumi state). The trade-off: EC2 user data is not secret storage. Whoever may call
 * ec2:DescribeInstanceAttribute (userData) on the instance, and any process on the instance through the metadata
 * service, can read it; with it, and a man-in-the-middle position on the SSH path, they could impersonate this host to
 * Pulumi and receive what Pulumi sends it (UCP admin password, join token, S3 keys). Fetching the key at boot from SSM
 * Parameter Store / Secrets Manager would need an AWS client on the AMI before sshd starts, which the supported AMIs
 * do not have; so restrict ec2:DescribeInstanceAttribute instead. Without any pinned key (before this), any host
 * answering on the address was trusted.
 */
export function userData(o: UserDataOptions): string {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(o.hostname)) {
        throw new Error(`hostname ${JSON.stringify(o.hostname)} is not a valid host name (a-z, 0-9, -)`);
    }
    const url = new URL(o.engineInstallScriptUrl);
    if (url.protocol !== "https:") {
        throw new Error(`engineInstallScriptUrl=${JSON.stringify(o.engineInstallScriptUrl)} must be https`);
    }
    const env = [
        o.engineChannel ? `CHANNEL=${shellQuote(o.engineChannel)}` : "",
        o.engineVersion ? `VERSION=${shellQuote(o.engineVersion)}` : "",
    ]
        .filter(Boolean)
        .join(" ");
    const script = [
        "#!/bin/bash",
        "set -euxo pipefail",
        `hostnamectl set-hostname ${shellQuote(o.hostname)}`,
        `curl -fsSL --retry 5 ${shellQuote(o.engineInstallScriptUrl)} -o /tmp/install-engine.sh`,
        `${env} sh /tmp/install-engine.sh`.trim(),
        "systemctl enable --now docker",
        `echo 'AcceptEnv ${ACCEPTED_ENV.join(" ")}' > /etc/ssh/sshd_config.d/90-dtr-ha.conf`,
        "systemctl reload ssh || systemctl reload sshd",
        `touch ${BOOTSTRAPPED_MARKER}`,
    ].join("\n");
    if (!o.hostKey) return script;
    if (
        !/^ssh-ed25519 [A-Za-z0-9+/]+=*$/.test(o.hostKey.publicKey) ||
        !/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/.test(o.hostKey.privateKey)
    ) {
        throw new Error("userData.hostKey: give an ed25519 key pair as sshHostKey makes it");
    }
    // cloud-init's ssh module runs in cloud-init.service, ordered before sshd: the first sshd already serves this key.
    // The drop-in makes it the only key sshd offers, whatever host key algorithm the client prefers.
    const cloudConfig = [
        "#cloud-config",
        "ssh_deletekeys: true",
        "ssh_genkeytypes: []",
        "ssh_keys:",
        "  ed25519_private: |",
        ...o.hostKey.privateKey
            .trimEnd()
            .split("\n")
            .map((l) => `    ${l}`),
        `  ed25519_public: '${o.hostKey.publicKey}'`,
        "write_files:",
        "  - path: /etc/ssh/sshd_config.d/10-dtr-ha-hostkey.conf",
        "    permissions: '0644'",
        "    content: |",
        "      HostKey /etc/ssh/ssh_host_ed25519_key",
    ].join("\n");
    const boundary = "==dtr-ha-user-data==";
    return [
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        "MIME-Version: 1.0",
        "",
        `--${boundary}`,
        'Content-Type: text/cloud-config; charset="us-ascii"',
        "",
        cloudConfig,
        `--${boundary}`,
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        script,
        `--${boundary}--`,
        "",
    ].join("\n");
}

/**
 * Waits (bounded) for cloud-init to finish, then joins the Swarm as a worker unless already a member.
 *
 * The join token never becomes an argument of any process (where `ps` and /proc/<pid>/cmdline would show it to every
 * local user): `docker swarm join` only takes it as `--token`, so the join goes to the engine API instead,
 * `POST /swarm/join` over the local socket, with the JSON body built by the shell's printf builtin and read by curl
 * from stdin. The token is checked to be token-shaped first, so it cannot break out of the JSON string.
 */
export function swarmJoinScript(
    managerAddress: string,
    timeoutSeconds = 900,
    paths: { marker?: string; dockerSocket?: string } = {},
): string {
    if (!/^[A-Za-z0-9.-]+:\d+$/.test(managerAddress)) {
        throw new Error(`swarm manager address ${JSON.stringify(managerAddress)} must be host:port, e.g. 10.0.1.10:2377`);
    }
    const marker = paths.marker ?? BOOTSTRAPPED_MARKER;
    const socket = paths.dockerSocket ?? "/var/run/docker.sock";
    return [
        "set -eu",
        ': "${SWARM_JOIN_TOKEN:?SWARM_JOIN_TOKEN must be set}"',
        'case "$SWARM_JOIN_TOKEN" in SWMTKN-*) ;; *) echo "SWARM_JOIN_TOKEN is not a swarm join token (SWMTKN-...)" >&2; exit 1 ;; esac',
        'case "$SWARM_JOIN_TOKEN" in *[!A-Za-z0-9-]*) echo "SWARM_JOIN_TOKEN holds characters a join token never has" >&2; exit 1 ;; esac',
        `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
        `until [ -f ${shellQuote(marker)} ]; do`,
        '  [ "$(date +%s)" -lt "$deadline" ] || { echo "engine install did not finish in ' +
            timeoutSeconds +
            's; see /var/log/cloud-init-output.log" >&2; exit 1; }',
        "  sleep 5",
        "done",
        'state=$(docker info --format "{{.Swarm.LocalNodeState}}")',
        'if [ "$state" = active ]; then echo "already in the swarm"; exit 0; fi',
        "resp=$(mktemp); trap 'rm -f \"$resp\"' EXIT",
        // printf is a builtin (no process, no argv); curl reads the body from stdin (--data-binary @-).
        `code=$(printf '{"JoinToken":"%s","RemoteAddrs":["%s"],"ListenAddr":"0.0.0.0:2377"}' "$SWARM_JOIN_TOKEN" ${shellQuote(managerAddress)} |`,
        `  curl -sS --unix-socket ${shellQuote(socket)} -o "$resp" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @- http://localhost/swarm/join) || code=000`,
        `[ "$code" = 200 ] || { echo "swarm join through ${socket} failed (HTTP $code): $(cat "$resp")" >&2; exit 1; }`,
        `echo "joined the swarm through ${managerAddress}"`,
    ].join("\n");
}

/** Polls UCP's API until it lists `hostname` as a node, with a deadline. Credentials from the environment. */
export function waitForUcpNodeScript(
    ucp: { url: string; caPem?: string; insecureTls?: boolean },
    hostname: string,
    timeoutSeconds = 900,
): string {
    const base = new URL(ucp.url).origin;
    if (!ucp.caPem && !ucp.insecureTls) throw new Error("ucp.ca is required to verify UCP (or ucp.insecureTls in a lab)");
    // UCP's CA is public; it is written to a temp file because curl reads CAs from files.
    const tls = ucp.caPem ? '--cacert "$ca"' : "--insecure";
    return [
        "set -eu",
        "ca=$(mktemp); trap 'rm -f \"$ca\"' EXIT",
        ucp.caPem ? `printf '%s\\n' ${shellQuote(ucp.caPem)} > "$ca"` : ":",
        `: "\${${USERNAME_ENV}:?}" "\${${SECRET_ENV.ucpPassword}:?}"`,
        `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
        "while :; do",
        // Login body built by printf (a shell builtin) and sent on stdin: the password is never an argument.
        `  token=$(printf '{"username":"%s","password":"%s"}' "$${USERNAME_ENV}" "$${SECRET_ENV.ucpPassword}" | curl -sS ${tls} --max-time 20 -H 'Content-Type: application/json' --data-binary @- ${shellQuote(base + "/auth/login")} | sed -n 's/.*"auth_token":"\\([^"]*\\)".*/\\1/p') || token=''`,
        '  if [ -n "$token" ]; then',
        `    if printf 'header = "Authorization: Bearer %s"\\n' "$token" | curl -sS ${tls} --max-time 20 -K - ${shellQuote(base + "/nodes")} | grep -q ${shellQuote(`"Hostname":"${hostname}"`)}; then`,
        `      echo "UCP lists node ${hostname}"; exit 0`,
        "    fi",
        "  fi",
        `  [ "$(date +%s)" -lt "$deadline" ] || { echo "UCP did not list node ${hostname} within ${timeoutSeconds}s" >&2; exit 1; }`,
        "  sleep 10",
        "done",
    ].join("\n");
}
