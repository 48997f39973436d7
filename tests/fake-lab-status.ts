import type { LabStatus } from "../lab/lab";

/** A `lab.sh status` answer for tests that need the lab's shape but not a running lab. */
export function fakeLabStatus(hostKey: (i: number) => string): LabStatus {
    return {
        state: "up",
        stateDir: "/nonexistent",
        hosts: [1, 2, 3].map((i) => ({
            name: `host${i}`,
            address: `10.200.0.1${i}`,
            sshPort: 22,
            user: "root",
            privateKeyPath: "/nonexistent",
            hostPublicKey: hostKey(i),
            ucpNode: `host${i}`,
            dockerSocket: "/nonexistent",
            dockerdPid: null,
            healthy: true,
        })),
        swarm: { defaultAddrPool: "10.200.128.0/17", reservedForDtrOl: "10.200.64.0/24", managers: 3, ready: 3 },
        registry: "10.200.0.1:5000",
        s3: {
            endpoint: "http://10.200.0.1:9000",
            region: "us-east-1",
            accessKeyPath: "",
            secretKeyPath: "",
            buckets: { layers: "dtr-layers", backups: "dtr-backups" },
        },
    };
}
