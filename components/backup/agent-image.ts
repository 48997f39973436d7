/**
 * A home for the backup agent image on AWS: an ECR repository this stack owns (scan on push, immutable tags, its own
 * KMS key, replicated to a second region when one is given), the image built from backup-agent/ and pushed there with
 * `@pulumi/docker`, and each host pulling it by digest before anything runs the agent. Never from the DTR being
 * protected: a restore runs the agent when that DTR is gone.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import type * as dockerTypes from "@pulumi/docker";
import { shFile } from "./scripts";

/** The files of the build context that make up the image (sources, locks, Dockerfile), relative to it. */
export function contextFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) {
                if (rel === "" && e.name === "src") walk(r);
            } else if (
                rel === "src"
                    ? e.name.endsWith(".ts")
                    : ["Dockerfile", ".dockerignore", "package.json", "package-lock.json", "tsconfig.json"].includes(e.name)
            ) {
                out.push(r);
            }
        }
    };
    walk("");
    return out;
}

/**
 * The image's tag: the agent's version and a hash of what goes into the build. Tags are immutable in the repository,
 * so a changed agent must get a new tag, and an unchanged one keeps its tag (and its digest).
 */
export function agentImageTag(dir: string): string {
    const version = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version as string;
    const h = crypto.createHash("sha256");
    for (const f of contextFiles(dir))
        h.update(`${f}\0`)
            .update(fs.readFileSync(path.join(dir, f)))
            .update("\0");
    return `${version}-${h.digest("hex").slice(0, 12)}`;
}

/**
 * The engine's X-Registry-Auth value for a registry login: its JSON in base64url with padding, as the docker client
 * encodes it (Go's base64.URLEncoding) and the engine decodes it.
 */
export function registryAuthHeader(a: { username: string; password: string; server: string }): string {
    const json = JSON.stringify({ username: a.username, password: a.password, serveraddress: a.server });
    return Buffer.from(json).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The backup-agent folder beside this package (compiled: bin/components/backup -> ../../../backup-agent). */
export function defaultAgentContext(): string {
    for (const d of [path.join(__dirname, "..", "..", "backup-agent"), path.join(__dirname, "..", "..", "..", "backup-agent")]) {
        if (fs.existsSync(path.join(d, "Dockerfile"))) return d;
    }
    // The npm package ships no agent sources: building needs a clone of dtr-ha (or an image of your own).
    throw new Error(
        `backup-agent/Dockerfile not found beside ${__dirname}: the agent image is built from a clone of dtr-ha; ` +
            "pass AgentImage's context (a clone's backup-agent folder), or set dtr-ha:backup.agentImage to an image you pushed (pinned by digest)",
    );
}

export interface AgentImageArgs {
    /** The repository's name (`<cluster>/dtr-ha-backup`). */
    repositoryName: string;
    /** Build context with a Dockerfile (default: the package's backup-agent folder). */
    context?: string;
    /** A second region the repository replicates to (the DR region), so a rebuild there can pull the agent. */
    replicationRegion?: string;
    /** Build for this platform (the hosts'). */
    platform?: string;
}

/** The ECR repository and the pushed image; `reference` is `repository@sha256:...`. */
export class AgentImage extends pulumi.ComponentResource {
    public readonly repositoryUrl: pulumi.Output<string>;
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>@sha256:<64 hex>`: what the hosts pull and run. */
    public readonly reference: pulumi.Output<string>;
    /** The X-Registry-Auth value the hosts pull with (a secret, valid 12 hours: fetched again on every run). */
    public readonly pullAuth: pulumi.Output<string>;

    constructor(name: string, args: AgentImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:AgentImage", name, {}, opts);
        const parent = { parent: this };
        const key = new aws.kms.Key(
            `${name}-agent-image`,
            { description: `dtr-ha backup agent images of ${args.repositoryName}`, enableKeyRotation: true, deletionWindowInDays: 30 },
            parent,
        );
        const repo = new aws.ecr.Repository(
            `${name}-agent`,
            {
                name: args.repositoryName,
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: key.arn }],
                tags: { "dtr-ha:role": "backup-agent-image" },
            },
            parent,
        );
        if (args.replicationRegion) {
            // ECR's replication is one setting per registry (account and region): this replaces any other rules there.
            new aws.ecr.ReplicationConfiguration(
                `${name}-agent-replication`,
                {
                    replicationConfiguration: {
                        rules: [
                            {
                                destinations: [{ region: args.replicationRegion, registryId: repo.registryId }],
                                repositoryFilters: [{ filter: args.repositoryName, filterType: "PREFIX_MATCH" }],
                            },
                        ],
                    },
                },
                parent,
            );
        }
        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
        const context = args.context ?? defaultAgentContext();
        // Loaded here, not at the top: only stacks that build the image need @pulumi/docker (an optional peer).
        const docker = require("@pulumi/docker") as typeof dockerTypes;
        const image = new docker.Image(
            `${name}-agent`,
            {
                imageName: pulumi.interpolate`${repo.repositoryUrl}:${agentImageTag(context)}`,
                build: { context, dockerfile: path.join(context, "Dockerfile"), platform: args.platform ?? "linux/amd64" },
                registry: { server: repo.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) },
            },
            parent,
        );
        this.repositoryUrl = repo.repositoryUrl;
        this.reference = image.repoDigest;
        this.pullAuth = pulumi.secret(
            pulumi
                .all([token.userName, token.password, repo.repositoryUrl])
                .apply(([username, password, url]) => registryAuthHeader({ username, password, server: url.split("/")[0] })),
        );
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, reference: this.reference });
    }
}

/** Where the agent is pulled: a host's name and its SSH connection. */
export interface AgentHost {
    name: string;
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
}

/**
 * Pulls `reference` onto every host, again on every run (the pull is a no-op when the image is there; a fresh
 * registry token each run), and returns the reference once every pull has finished: whatever runs the agent takes
 * this output, so it runs only after the image is on its host.
 */
export function pullAgentImage(
    name: string,
    a: { reference: pulumi.Input<string>; auth: pulumi.Input<string>; hosts: AgentHost[] },
    opts?: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const script = shFile("agent-pull.sh");
    const pulls = a.hosts.map(
        (h) =>
            new command.remote.Command(
                `${name}-agent-pull-${h.name}`,
                {
                    connection: h.connection,
                    environment: { DTR_HA_AGENT_IMAGE: a.reference, DTR_HA_REGISTRY_AUTH: pulumi.secret(a.auth) },
                    create: script,
                },
                opts,
            ),
    );
    return pulumi.all([a.reference, ...pulls.map((p) => p.stdout)]).apply(([ref]) => ref);
}
