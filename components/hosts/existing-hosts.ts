import * as pulumi from "@pulumi/pulumi";
import { DtrHost } from "./dtr-host";

/** One host that already runs a container engine joined to the UCP/Swarm cluster. */
export interface ExistingHostSpec {
    /** Short name, unique in the cluster. */
    name: string;
    /** SSH address (IP or DNS name). */
    address: string;
    /** SSH port, default 22. */
    port?: number;
    /** SSH user, default root; it must be able to run `docker`. */
    user?: string;
    /** Node name as UCP lists it; defaults to `name`. */
    ucpNode?: string;
    /** Address replicas reach each other on; defaults to `address`. */
    privateAddress?: string;
    /** Failure domain (rack, room, zone). */
    zone: string;
    /** The host's SSH public key (`ssh-ed25519 AAAA...`), pinned so a swapped host is refused. */
    hostKey: string;
}

/** Turns validated host specs into `DtrHost`s that all use one SSH private key. */
export function existingHosts(specs: ExistingHostSpec[], privateKey: pulumi.Input<string>): DtrHost[] {
    return specs.map((h) => ({
        name: h.name,
        ucpNode: h.ucpNode ?? h.name,
        privateAddress: h.privateAddress ?? h.address,
        zone: h.zone,
        connection: {
            host: h.address,
            port: h.port ?? 22,
            user: h.user ?? "root",
            privateKey: pulumi.secret(privateKey),
            hostKey: h.hostKey,
            // A replica host that is slow to accept SSH should fail the step, not hang it.
            dialErrorLimit: 10,
            perDialTimeout: 15,
        },
    }));
}
