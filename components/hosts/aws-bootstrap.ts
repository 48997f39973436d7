/**
 * Pure pieces of the AWS hosts: which ports replicas open to each other, the boot script, and the scripts that join
 * the engine to the existing UCP/Swarm cluster and wait until UCP lists the node. DTR nodes must be UCP workers.
 */
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

export interface UserDataOptions {
    /** Hostname the node gets; it becomes the UCP node name. */
    hostname: string;
    /** Container engine install script URL (e.g. Mirantis Container Runtime's). */
    engineInstallScriptUrl: string;
    /** Passed to the script as CHANNEL / VERSION when given. */
    engineChannel?: string;
    engineVersion?: string;
}

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

/** cloud-init user data. Holds no secret: join tokens and passwords arrive later over SSH in the environment. */
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
    return [
        "#!/bin/bash",
        "set -euxo pipefail",
        `hostnamectl set-hostname ${shellQuote(o.hostname)}`,
        `curl -fsSL --retry 5 ${shellQuote(o.engineInstallScriptUrl)} -o /tmp/install-engine.sh`,
        `${env} sh /tmp/install-engine.sh`.trim(),
        "systemctl enable --now docker",
        `echo 'AcceptEnv ${ACCEPTED_ENV.join(" ")}' > /etc/ssh/sshd_config.d/90-dtr-ha.conf`,
        "systemctl reload ssh || systemctl reload sshd",
        "touch /var/lib/dtr-ha-bootstrapped",
    ].join("\n");
}

/** Waits (bounded) for cloud-init to finish, then joins the Swarm as a worker unless already a member. */
export function swarmJoinScript(managerAddress: string, timeoutSeconds = 900): string {
    if (!/^[A-Za-z0-9.-]+:\d+$/.test(managerAddress)) {
        throw new Error(`swarm manager address ${JSON.stringify(managerAddress)} must be host:port, e.g. 10.0.1.10:2377`);
    }
    return [
        "set -eu",
        ': "${SWARM_JOIN_TOKEN:?SWARM_JOIN_TOKEN must be set}"',
        `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
        "until [ -f /var/lib/dtr-ha-bootstrapped ]; do",
        '  [ "$(date +%s)" -lt "$deadline" ] || { echo "engine install did not finish in ' +
            timeoutSeconds +
            's; see /var/log/cloud-init-output.log" >&2; exit 1; }',
        "  sleep 5",
        "done",
        'state=$(docker info --format "{{.Swarm.LocalNodeState}}")',
        'if [ "$state" = active ]; then echo "already in the swarm"; exit 0; fi',
        // The token reaches docker as an argument (the CLI has no other way), but only inside this host's own shell,
        // from the environment, never in the command text the provider stores or logs.
        `docker swarm join --token "$SWARM_JOIN_TOKEN" ${shellQuote(managerAddress)}`,
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
