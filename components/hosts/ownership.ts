/**
 * Ownership of the replicas on each host: the stack that owns a replica now is the only one whose destructive steps may
 * touch it. The record and its rules live in sh/ownership.sh (constant text; data only from the environment); this file
 * names the actions and the environment they read.
 */
import * as pulumi from "@pulumi/pulumi";
import { assertReplicaId } from "../dtr-cli/commands";
import { shFile } from "../dtr-cli/sh-file";

/** Environment the ownership functions read (the lab's sshd and AWS hosts accept DTR_*). */
export const OWNER_ENV = {
    owner: "DTR_HA_OWNER",
    replicaId: "DTR_HA_REPLICA_ID",
    destroyExisting: "DTR_HA_DESTROY_EXISTING",
    /** Changes on every program run, so the owner step's `update` (the check) runs on every `up`. */
    run: "DTR_HA_RUN",
} as const;

export type OwnerAction = "claim" | "check" | "take_over" | "guard" | "require" | "release";

/** A stack name as the record holds it: `organization/project/stack`. */
export const OWNER = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/;

/** This program's stack, as the ownership record names it. */
export function currentOwner(): string {
    let org: string;
    try {
        org = pulumi.getOrganization();
    } catch {
        org = "organization"; // what DIY backends call their one organization (also the unit mocks' case)
    }
    return `${org}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

export function assertOwner(owner: string): string {
    if (!OWNER.test(owner)) {
        throw new Error(`owner=${JSON.stringify(owner)} is not a stack name: use organization/project/stack of letters, digits, . _ -`);
    }
    return owner;
}

/** The script that runs one ownership action (text constant for a library version). */
export function ownershipScript(action: OwnerAction): string {
    return `${shFile(__dirname, "ownership.sh")}\nowner_${action}`;
}

/** A destructive command run only when this stack owns the replica (or nobody does); otherwise skipped, saying why. */
export function guarded(destructive: string): string {
    return `${ownershipScript("guard")}\n${destructive}`;
}

/** Like `guarded`, but another stack's replica fails the step instead of skipping it (for requested changes). */
export function required(change: string): string {
    return `${ownershipScript("require")}\n${change}`;
}

/** The ownership environment for one replica. */
export function ownerEnvironment(owner: string, replicaId: string): Record<string, string> {
    assertReplicaId("replica id", replicaId);
    return { [OWNER_ENV.owner]: assertOwner(owner), [OWNER_ENV.replicaId]: replicaId };
}
