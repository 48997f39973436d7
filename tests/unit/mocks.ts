/**
 * Pulumi mocks for AWS and command resources (nothing here can reach AWS). Every declared resource is recorded with
 * its inputs and the options it was declared with, so tests can assert on the resource graph itself.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { catalogEntry } from "./restore-fakes";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

export const recorded: Recorded[] = [];

/**
 * A backup command (its script stores a manifest with the agent's put-manifest) prints what the real one prints: progress
 * on stderr and, as its last stdout line, the catalog entry of the backup it took, for the kind, cluster and bucket in
 * its script. Anything else: undefined.
 */
export function backupStdout(inputs: Record<string, any>): string | undefined {
    const create = typeof inputs.create === "string" ? inputs.create : "";
    if (!create.includes(" put-manifest ")) return undefined;
    const kind = (create.match(/ --kind (dtr|ucp|swarm)\b/)?.[1] ?? "dtr") as "dtr" | "ucp" | "swarm";
    const cluster = create.match(/ --cluster ([a-z0-9-]+)/)?.[1] ?? "lab";
    const bucket = create.match(/ put-manifest --bucket ([a-z0-9.-]+)/)?.[1] ?? "dtr-backups";
    const version = create.match(/ --meta dtrVersion=([A-Za-z0-9_.-]+)/)?.[1];
    return `dtr-ha backup: done\n${catalogEntry({ kind, cluster, bucket, dtrVersion: version })}\n`;
}

// mocha sets Error.stackTraceLimit to Infinity (for its failure output), and Pulumi's SDK takes a stack trace for every
// promise it makes (runtime/debuggable.js): unlimited, those cost seconds of CPU over this suite. Node's own default
// still shows a failing assertion from the test's line on.
Error.stackTraceLimit = 10;

// Even at 10 frames, those traces were a third of the CPU of the mocked tests (about 90,000 promises in aws-hosts, ownership,
// program and restore-cluster: 2 s of 6.5). Pulumi reads it only to print leaked promises when
// PULUMI_DEBUG_PROMISE_LEAKS is set, so unless it is, the trace is taken with no frames, for that call only: every other
// error (a failing assertion included) keeps its stack, and the promise itself, its id and its leak tracking are Pulumi's.
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
        debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;
    };
    const debuggablePromise = debuggable.debuggablePromise;
    debuggable.debuggablePromise = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return debuggablePromise(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}

pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
            recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state: Record<string, any> = { ...args.inputs };
            if (args.type === "aws:s3/bucket:Bucket") {
                state.bucket = `${args.name}-bucket`;
                state.arn = `arn:aws:s3:::${args.name}-bucket`;
                state.region = "eu-west-1";
            }
            if (args.type === "aws:kms/key:Key") state.arn = `arn:aws:kms:eu-west-1:123456789012:key/${args.name}`;
            if (args.type === "aws:iam/policy:Policy") state.arn = `arn:aws:iam::123456789012:policy/${args.name}`;
            if (args.type === "aws:ec2/instance:Instance") {
                state.privateIp = `10.0.${recorded.filter((r) => r.type === args.type).length}.10`;
                state.publicIp = `203.0.113.${recorded.filter((r) => r.type === args.type).length}`;
            }
            if (args.type === "aws:lb/loadBalancer:LoadBalancer") state.dnsName = "dtr-nlb.elb.amazonaws.com";
            if (args.type === "aws:ecr/repository:Repository") {
                state.registryId = "123456789012";
                state.repositoryUrl = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${args.inputs.name}`;
            }
            // What the docker provider reports after a push: the pushed manifest's digest (sha256 of the image name here).
            if (args.type === "docker:index/image:Image") {
                const digest = crypto.createHash("sha256").update(String(args.inputs.imageName)).digest("hex");
                state.repoDigest = `${String(args.inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${digest}`;
            }
            if (args.type.startsWith("command:")) {
                state.stdout = args.name.endsWith("-health")
                    ? "dtr-ha health: healthy: 3 replicas OK after 1 attempt(s), 0s"
                    : args.name.includes("-overlay-")
                      ? "overlay true 172.16.240.0/24"
                      : (backupStdout(args.inputs) ?? "");
                state.stderr = "";
            }
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            if (args.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken")
                return {
                    ...args.inputs,
                    userName: "AWS",
                    password: "ECR-TOKEN-secret-7",
                    proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                };
            return args.inputs;
        },
    },
    "dtr-ha",
    "unit",
    false,
);

/** Resolves an Output in a test. */
export function valueOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Options each resource was declared with, captured by a transformation on the component under test. */
export interface Declared {
    type: string;
    name: string;
    props: Record<string, any>;
    dependsOn: string[];
}

export function captureDeclarations(into: Declared[]): pulumi.ResourceTransformation {
    return (args) => {
        const deps = args.opts.dependsOn;
        const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
        into.push({
            type: args.type,
            name: args.name,
            props: args.props,
            dependsOn: (list as pulumi.Resource[]).map((r) => (r as any).__name as string).filter(Boolean),
        });
        return undefined;
    };
}

/** Waits for all mocked registrations to finish. */
export function settle(): Promise<void> {
    return new Promise((r) => setTimeout(r, 50));
}
