/**
 * The stack configuration for the lab, derived from `lab.sh status`: the three replica hosts (swarm workers, as DTR hosts
 * are UCP workers) as existing hosts (host keys pinned), the three managers as `cluster.swarmManagers`, ucp-sim (the
 * stand-in for UCP's API) as UCP with its CA pinned, MinIO as S3-compatible layer storage, dtr-sim as the DTR image.
 * Pure: tested directly.
 */
import type { LabHost, LabStatus } from "../lab/lab";

export const LAB_IMAGE_VERSION = "2.9.16";
export const LAB_ADMIN = "admin";

export interface LabStackConfig {
    /** Plain config values (objects are stored as JSON strings, as `pulumi config set` would). */
    config: Record<string, unknown>;
    /** Secret config values. */
    secrets: Record<string, string>;
}

export interface LabStackOptions {
    clusterName?: string;
    imageVersion?: string;
    /** UCP's admin password (the lab's ucp-sim password, `ucpPassword(status)`): DTR's admin is UCP's. */
    adminPassword: string;
    sshPrivateKey: string;
    s3: { accessKey: string; secretKey: string };
    healthGate?: { timeoutSeconds: number; intervalSeconds: number; probeFromHere?: boolean; checkSeconds?: number };
    /** The backup agent image's version (the lab registry holds `dtr-ha-backup:<version>`). */
    agentVersion: string;
    /** age public keys to encrypt backups to (the matching identity goes in `ageIdentity`). */
    backupRecipients?: string[];
    ageIdentity?: string;
    /** Change to take a new backup on the next up. */
    backupTrigger?: string;
}

export function labStackConfig(status: LabStatus, o: LabStackOptions): LabStackConfig {
    if (status.hosts.length !== 3) throw new Error(`the lab has ${status.hosts.length} hosts; the lab stack needs 3`);
    const first = status.hosts[0];
    const ucpCa = status.ucp?.ca;
    if (!ucpCa) throw new Error("the lab status has no UCP CA (ucp.ca); bring the lab up again with `npm run lab -- up`");
    const ucpUrl = status.ucp?.url;
    if (!ucpUrl)
        throw new Error("the lab status has no UCP URL (ucp.url: ucp-sim on a manager); bring the lab up again with `npm run lab -- up`");
    const managers = status.managers ?? [];
    if (managers.length !== 3)
        throw new Error(
            `the lab status lists ${managers.length} swarm managers (managers[]); the lab stack needs 3 managers apart from the replica hosts: bring the lab up again with \`npm run lab -- up\``,
        );
    const replicaNames = new Set(status.hosts.map((h) => h.name));
    const both = managers.filter((m) => replicaNames.has(m.name) || status.hosts.some((h) => h.address === m.address));
    if (both.length)
        throw new Error(
            `managers[] and hosts[] share ${both.map((m) => `${m.name} (${m.address})`).join(", ")}: DTR replicas run on UCP workers, never on a manager`,
        );
    return {
        config: {
            cluster: {
                name: o.clusterName ?? "lab",
                replicas: 3,
                // The lab uses plain-HTTP S3 and dtr-sim's socket mount.
                production: false,
                externalUrl: `https://${first.address}`,
                overlaySubnet: status.swarm.reservedForDtrOl,
                dockerAddressPools: [status.swarm.defaultAddrPool],
                // A degraded lab cluster is reported after 15 s of waiting, not 60: the lab's hosts do not come back by themselves.
                healthGate: o.healthGate ?? { timeoutSeconds: 300, intervalSeconds: 3, probeFromHere: true, checkSeconds: 15 },
                mountEngineSocket: true,
                // The swarm's managers (apart from the replica hosts, which are workers); the first that answers removes dtr-ol after a destroy.
                swarmManagers: managers.map((h) => ({ address: h.address, port: h.sshPort, user: h.user, hostKey: h.hostPublicKey })),
            },
            image: { repository: `${status.registry}/dtr-sim`, version: o.imageVersion ?? LAB_IMAGE_VERSION },
            // ucp-sim, UCP's CA pinned as in production: DTR's commands get --ucp-ca, never --ucp-insecure-tls.
            ucp: { url: ucpUrl, username: status.ucp?.username ?? LAB_ADMIN, ca: ucpCa },
            hosts: {
                mode: "existing",
                networks: [`${first.address.split(".").slice(0, 3).join(".")}.0/24`],
                existing: labExistingHosts(status),
            },
            backup: {
                mode: "s3",
                bucket: status.s3.buckets.backups,
                prefix: "dtr",
                agentImage: `${status.registry}/dtr-ha-backup:${o.agentVersion}`,
                recipients: o.backupRecipients ?? [],
                // GOVERNANCE with one day: real locks in the lab, short enough for a throw-away server.
                lockMode: "GOVERNANCE",
                retentionDays: 1,
                trigger: o.backupTrigger ?? "initial",
                s3: { region: status.s3.region, endpoint: status.s3.endpoint, forcePathStyle: true },
            },
            storage: {
                mode: "s3",
                s3: {
                    region: status.s3.region,
                    bucket: status.s3.buckets.layers,
                    regionEndpoint: status.s3.endpoint,
                    secure: false,
                    forcePathStyle: true,
                },
            },
        },
        secrets: {
            ucpPassword: o.adminPassword,
            sshPrivateKey: o.sshPrivateKey,
            storageAccessKey: o.s3.accessKey,
            storageSecretKey: o.s3.secretKey,
            backupAccessKey: o.s3.accessKey,
            backupSecretKey: o.s3.secretKey,
            ...(o.ageIdentity ? { ageIdentity: o.ageIdentity } : {}),
        },
    };
}

/** The lab's hosts as `hosts.existing` entries (SSH address, port, user, UCP node, pinned host key). */
export function labExistingHosts(status: LabStatus) {
    return status.hosts.map(labHostSpec);
}

/** One lab host as a `hosts.existing` entry (also a spare's spec for `npm run recover -- --spare`). */
export function labHostSpec(h: LabHost) {
    return {
        name: h.name,
        address: h.address,
        port: h.sshPort,
        user: h.user,
        ucpNode: h.ucpNode,
        // Each namespace host is its own failure domain in the lab.
        zone: `lab-${h.name}`,
        hostKey: h.hostPublicKey,
    };
}
