/**
 * Steps that run from the machine running Pulumi and reach the hosts over SSH themselves (sh/via-ssh.sh), so they can go
 * through whichever host answers and take a lost host as a fact. A `command.remote.Command` is bound to one host for
 * life: its delete on a lost host only fails after the dial retries. The scripts are constant text; the hosts, the
 * private key (a secret) and the names of the variables sent to the hosts travel in the environment.
 */
import * as pulumi from "@pulumi/pulumi";
import { assertReplicaId } from "../dtr-cli/commands";
import { shFile } from "../dtr-cli/sh-file";
import { DtrHost } from "./dtr-host";

export const VIA_ENV = {
    targets: "DTR_HA_SSH_TARGETS",
    privateKey: "DTRHA_SSH_PRIVATE_KEY",
    send: "DTR_HA_SSH_SEND",
    managers: "DTR_HA_SSH_MANAGERS",
} as const;

/** The replica-id field of a manager target: a manager carries no DTR replica. */
const NO_REPLICA = "-";

/** One host as the runner sees it. */
export interface ViaTarget {
    name: string;
    /** Its replica's id; "-" for a swarm manager (manager targets only). */
    replicaId: string;
    address: string;
    port: number;
    user: string;
    /** `ssh-ed25519 AAAA...` (a comment after the key is dropped). */
    hostKey: string;
}

/** The runner's functions followed by the caller's constant text. */
export function viaScript(tail: string): string {
    return `${shFile(__dirname, "via-ssh.sh")}\n${tail}`;
}

/** The `DTR_HA_SSH_TARGETS` value: one line per host; throws naming the host and field that cannot be sent as data. */
export function viaTargets(targets: ViaTarget[], managers = false): string {
    return targets
        .map((t) => {
            const [type, data] = t.hostKey.trim().split(/\s+/);
            const where = `host ${JSON.stringify(t.name)}`;
            if (!/^[A-Za-z0-9._-]+$/.test(t.name)) throw new Error(`${where}: the name must be letters, digits, . _ -`);
            if (managers) {
                if (t.replicaId !== NO_REPLICA) throw new Error(`internal: ${where} is a manager target and carries no replica id`);
            } else assertReplicaId(`${where} replica id`, t.replicaId);
            if (!/^[A-Za-z0-9.:_-]+$/.test(t.address))
                throw new Error(`${where}: address ${JSON.stringify(t.address)} is not a host address`);
            if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new Error(`${where}: port ${t.port} is not a TCP port`);
            if (!/^[a-z_][a-z0-9_-]*$/.test(t.user)) throw new Error(`${where}: user ${JSON.stringify(t.user)} is not a login name`);
            if (!/^[a-z0-9@.-]+$/.test(type ?? "") || !/^[A-Za-z0-9+/]+=*$/.test(data ?? ""))
                throw new Error(
                    `${where}: connection.hostKey ${JSON.stringify(t.hostKey)} is not "<type> <base64>": pin the host's public key (ssh-keyscan prints it)`,
                );
            return [t.name, t.replicaId, t.address, t.port, t.user, type, data].join(" ");
        })
        .join("\n");
}

/** The environment the runner reads: targets from the hosts' connections (all sharing one private key), and `send`. */
export function viaEnvironment(hosts: DtrHost[], ids: string[], send: string[]): pulumi.Output<Record<string, string>> {
    send.forEach((n) => {
        if (!/^(DTR|UCP)_[A-Z0-9_]+$/.test(n))
            throw new Error(`internal: ${n} is not a DTR_* or UCP_* variable (the hosts accept only those)`);
    });
    return pulumi.all(hosts.map((h) => pulumi.output(h.connection))).apply((conns): Record<string, string> => {
        const keys = new Set(conns.map((c) => c.privateKey));
        const key = conns[0]?.privateKey;
        if (!key || keys.size !== 1)
            throw new Error(
                "hosts[*].connection.privateKey: every host must have the same SSH private key (steps that reach the hosts from this machine use it)",
            );
        conns.forEach((c, i) => {
            if (!c.hostKey) throw new Error(`hosts[${i}] (${hosts[i].name}): connection.hostKey is not set: pin the host's public key`);
        });
        return {
            [VIA_ENV.targets]: viaTargets(
                conns.map((c, i) => ({
                    name: hosts[i].name,
                    replicaId: ids[i],
                    address: c.host,
                    port: c.port ?? 22,
                    user: c.user ?? "root",
                    hostKey: c.hostKey!,
                })),
            ),
            [VIA_ENV.privateKey]: key,
            [VIA_ENV.send]: send.join(" "),
        };
    });
}

/** Swarm managers as `DTR_HA_SSH_MANAGERS` entries `swarm-manager-1..n` (same key as the hosts; the caller uses theirs). */
export function viaManagerEnvironment(managers: { host: string; port?: number; user?: string; hostKey: string }[]): Record<string, string> {
    if (managers.length === 0) throw new Error("internal: no swarm manager given");
    return {
        [VIA_ENV.managers]: viaTargets(
            managers.map((m, i) => {
                if (!m.hostKey)
                    throw new Error(`cluster.swarmManagers[${i}].hostKey is not set: pin the manager's public key (ssh-keyscan prints it)`);
                return {
                    name: `swarm-manager-${i + 1}`,
                    replicaId: NO_REPLICA,
                    address: m.host,
                    port: m.port ?? 22,
                    user: m.user ?? "root",
                    hostKey: m.hostKey,
                };
            }),
            true,
        ),
    };
}
