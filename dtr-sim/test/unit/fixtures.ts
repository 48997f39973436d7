import { hashAdmin } from "../../src/auth";
import { ClusterDoc, Stored } from "../../src/state";
import { defaultStorage } from "../../src/settings";

export function doc(replicas: string[] = ["aaaaaaaaaaaa"]): ClusterDoc {
    return {
        format: 1,
        clusterId: "c0ffee0000000001",
        dtrVersion: "2.9.16",
        createdAt: "2026-01-01T00:00:00.000Z",
        ucpUrl: "https://ucp.example",
        externalUrl: "https://dtr.example",
        admin: hashAdmin("admin", "pw-for-tests"),
        secret: "s".repeat(48),
        tls: { cert: "CERT", key: "KEY", ca: "CERT" },
        replicas: replicas.map((id, i) => ({
            id,
            node: `host${i + 1}`,
            httpPort: 80,
            httpsPort: 443,
            joinedAt: "2026-01-01T00:00:00.000Z",
        })),
        storage: defaultStorage(),
        repositories: [],
        teamAccess: [],
    };
}

export function stored(d = doc(), rev = 1): Stored {
    return { rev, writer: d.replicas[0].id, doc: d };
}
