/**
 * The dtr-ol removal after a destroy, run for real in dash against fake hosts behind a fake ssh: through the first swarm
 * manager that answers (never a DTR host, which is a worker in production), only once no DTR container is left on the
 * stack's reachable hosts, and a network still in use is kept rather than failing the destroy.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { Fleet, KEY_DATA, fakeFleet } from "./fake-fleet";
import { DtrCluster } from "../../components/cluster/dtr-cluster";
import { existingHosts } from "../../components/hosts/existing-hosts";

const ADDR = ["10.200.0.11", "10.200.0.12", "10.200.0.13"];
const MANAGERS = ["10.200.0.21", "10.200.0.22"];

function build(managers?: string[]): Declared[] {
    const declared: Declared[] = [];
    new DtrCluster(
        `o${Math.random().toString(36).slice(2, 8)}`,
        {
            clusterName: "lab",
            hosts: existingHosts(
                ADDR.map((a, i) => ({ name: `host${i + 1}`, address: a, zone: `z${i}`, hostKey: `ssh-ed25519 ${KEY_DATA}` })),
                pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\nK\n-----END OPENSSH PRIVATE KEY-----"),
            ),
            image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
            ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
            ucpPassword: pulumi.secret("pw"),
            externalUrl: "https://10.200.0.11",
            overlaySubnet: "172.16.240.0/24",
            storage: { s3: { region: "us-east-1", bucket: "dtr-layers", accessKey: "a", secretKey: "s", secure: false } },
            owner: "organization/dtr-ha/lab",
            swarmManagers: managers?.map((host) => ({ host, hostKey: `ssh-ed25519 ${KEY_DATA}` })),
        },
        { transformations: [captureDeclarations(declared)] },
    );
    return declared;
}

/** DTR hosts and managers; the managers are swarm managers holding dtr-ol. */
function fleet(): Fleet {
    const f = fakeFleet([...ADDR, ...MANAGERS]);
    for (const m of MANAGERS) {
        fs.writeFileSync(path.join(f.hosts[m].dir, "swarm-control"), "true\n");
        fs.mkdirSync(path.join(f.hosts[m].dir, "networks"));
        fs.writeFileSync(path.join(f.hosts[m].dir, "networks", "dtr-ol"), "");
    }
    return f;
}
const hasNetwork = (f: Fleet, m: string) => fs.existsSync(path.join(f.hosts[m].dir, "networks", "dtr-ol"));
const networkCalls = (f: Fleet) => Object.fromEntries(Object.entries(f.calls()).map(([a, c]) => [a, c.filter((x) => /^network /.test(x))]));

describe("dtr-ol is removed through a swarm manager after a destroy (fake fleet, dash)", function () {
    this.timeout(60_000);

    it("without swarm managers there is no network step, and the first replica's destroy no longer runs network rm", async () => {
        const d = build();
        await settle();
        assert.strictEqual(
            d.find((x) => x.name.endsWith("-network")),
            undefined,
        );
        const install = d.find((x) => x.name.endsWith("-install"))!;
        assert.doesNotMatch(await valueOf<string>(install.props.delete), /docker network rm/);
    });

    it("is created before the install (so deleted after it): the install depends on it", async () => {
        const d = build(MANAGERS);
        await settle();
        const net = d.find((x) => x.name.endsWith("-network"))!;
        const install = d.find((x) => x.name.endsWith("-install"))!;
        assert.strictEqual(net.type, "command:local:Command");
        assert.ok(install.dependsOn.includes(net.name), `install depends on ${install.dependsOn.join(", ")}`);
    });

    it("removes dtr-ol through the first manager that answers, never through a DTR host", async () => {
        const d = build(MANAGERS);
        await settle();
        const net = d.find((x) => x.name.endsWith("-network"))!;
        const env = await valueOf<Record<string, string>>(net.props.environment);
        const f = fleet();
        f.down(MANAGERS[0]);
        const r = f.run(await valueOf<string>(net.props.delete), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /dtr-ol removed through swarm manager/);
        assert.ok(!hasNetwork(f, MANAGERS[1]));
        const calls = networkCalls(f);
        for (const a of ADDR) assert.deepStrictEqual(calls[a], [], `no network command on DTR host ${a}`);
        assert.deepStrictEqual(calls[MANAGERS[1]], ["network inspect --format {{.Scope}} dtr-ol", "network rm dtr-ol"]);
        // Gone already: a second destroy is a no-op.
        const again = f.run(await valueOf<string>(net.props.delete), env);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.match(again.stdout, /dtr-ol: already gone/);
    });

    it("keeps dtr-ol while a DTR container is left on a reachable host of the stack (the manager is not even asked)", async () => {
        const d = build(MANAGERS);
        await settle();
        const net = d.find((x) => x.name.endsWith("-network"))!;
        const f = fleet();
        fs.writeFileSync(path.join(f.hosts[ADDR[1]].dir, "containers"), "dtr-registry-0123456789ab\n");
        const r = f.run(await valueOf<string>(net.props.delete), await valueOf<Record<string, string>>(net.props.environment));
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /dtr-ol kept: DTR containers remain/);
        assert.match(r.stderr, /still has DTR containers: dtr-registry-0123456789ab/);
        assert.ok(hasNetwork(f, MANAGERS[0]));
        assert.ok(!f.reached().some((a) => MANAGERS.includes(a)), f.reached().join(" "));
    });

    it("keeps a network Docker says is in use (retried 15 s), and fails with the fix when no manager answers", async () => {
        const d = build(MANAGERS);
        await settle();
        const net = d.find((x) => x.name.endsWith("-network"))!;
        const env = await valueOf<Record<string, string>>(net.props.environment);
        const f = fleet();
        fs.writeFileSync(path.join(f.hosts[MANAGERS[0]].dir, "networks", "dtr-ol.in-use"), "");
        // No real sleeping: the retry's sleep is a no-op here.
        fs.writeFileSync(path.join(f.hosts[MANAGERS[0]].dir, "bin", "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const r = f.run(await valueOf<string>(net.props.delete), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /dtr-ol kept: still in use after 15 s/);
        assert.ok(hasNetwork(f, MANAGERS[0]));
        assert.strictEqual(networkCalls(f)[MANAGERS[0]].filter((c) => c === "network rm dtr-ol").length, 15);

        const lost = fleet();
        MANAGERS.forEach((m) => lost.down(m));
        const l = lost.run(await valueOf<string>(net.props.delete), env);
        assert.strictEqual(l.code, 1);
        assert.match(l.stderr, /no manager of cluster.swarmManagers is reachable: dtr-ol is still on the swarm/);
    });

    it("create checks the manager is one: a worker given as swarm manager fails naming the key", async () => {
        const d = build(MANAGERS);
        await settle();
        const net = d.find((x) => x.name.endsWith("-network"))!;
        const env = await valueOf<Record<string, string>>(net.props.environment);
        const f = fleet();
        assert.strictEqual(f.run(await valueOf<string>(net.props.create), env).code, 0);
        fs.writeFileSync(path.join(f.hosts[MANAGERS[0]].dir, "swarm-control"), "false\n");
        const r = f.run(await valueOf<string>(net.props.create), env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /cluster.swarmManagers: .* is not a swarm manager .*give a UCP manager's address/);
    });
});
