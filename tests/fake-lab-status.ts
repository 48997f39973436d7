import type { LabStatus } from "../lab/lab";

/** A real self-signed CA certificate (public; its key was thrown away), as `lab.sh up` makes for UCP. */
export const FAKE_UCP_CA = `-----BEGIN CERTIFICATE-----
MIIBkDCCATegAwIBAgIUIQfFp4l7UitJk025150CVqnKPyswCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSZHRyLWhhIHRlc3QgVUNQIENBMCAXDTI2MTEzMDAzNDgxOVoY
DzIxMjYxMTA2MDM0ODE5WjAdMRswGQYDVQQDDBJkdHItaGEgdGVzdCBVQ1AgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ1Sv1e2HRnnbRlQPYmQ0veRVoINvpY
LNIt2Ikzmhrzb1/73cmjuJr1VRjCkQ17QAj1DnX1OlOvAwsTXXyfVolqo1MwUTAd
BgNVHQ4EFgQUNd08mdagxEcY1RZEXuOzpH3pgDAwHwYDVR0jBBgwFoAUNd08mdag
xEcY1RZEXuOzpH3pgDAwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBE
AiBdcsWpFgZpGNDeV/CjVVpiZcll3k6/ndtgE5R23vimbwIgDk8bajavYe0cbACH
a5Xnu0cNgBnXQzClBtuOosjkIv0=
-----END CERTIFICATE-----
`;

/** A `lab.sh status` answer for tests that need the lab's shape but not a running lab. */
export function fakeLabStatus(hostKey: (i: number) => string): LabStatus {
    return {
        state: "up",
        stateDir: "/nonexistent",
        // The swarm's managers, apart from the replica hosts (workers), as lab.sh lays them out.
        managers: [1, 2, 3].map((i) => ({
            name: `mgr${i}`,
            address: `10.200.0.2${i}`,
            sshPort: 22,
            user: "root",
            privateKeyPath: "/nonexistent",
            hostPublicKey: hostKey(10 + i),
            ucpNode: `mgr${i}`,
            dockerSocket: "/nonexistent",
            dockerdPid: null,
            healthy: true,
        })),
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
        swarm: { defaultAddrPool: "10.200.128.0/17", reservedForDtrOl: "10.200.64.0/24", managers: 3, workers: 3, ready: 6 },
        registry: "10.200.0.1:5000",
        s3: {
            endpoint: "http://10.200.0.1:9000",
            region: "us-east-1",
            accessKeyPath: "",
            secretKeyPath: "",
            buckets: { layers: "dtr-layers", backups: "dtr-backups" },
        },
        ucp: {
            ca: FAKE_UCP_CA,
            url: "https://10.200.0.21",
            host: "mgr1",
            username: "admin",
            passwordPath: "/nonexistent/ucp/admin-password",
            healthy: true,
        },
    };
}
