import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";

/**
 * Where one DTR replica runs. AWS hosts and existing (on-premises or lab) hosts both yield this shape, so the
 * cluster never needs to know where its hosts came from.
 */
export interface DtrHost {
    /** Stable short name, used in resource names and to derive the replica id (e.g. `replica-1`, `host1`). */
    name: string;
    /** The node's hostname exactly as UCP (or Swarm) lists it: DTR's `--ucp-node`. */
    ucpNode: pulumi.Input<string>;
    /** Address other replicas and the load balancer reach this host on (the `/_ping` health check uses it). */
    privateAddress: pulumi.Input<string>;
    /** Availability zone, or a failure-domain label for existing hosts. One replica per zone unless sharing is allowed. */
    zone: string;
    /** How the command provider reaches the host over SSH. Pin `hostKey`; the private key must be a secret. */
    connection: command.types.input.remote.ConnectionArgs;
    /** Resources that must be complete before DTR is touched on this host (instance booted, engine joined UCP). */
    ready?: pulumi.Resource[];
}
