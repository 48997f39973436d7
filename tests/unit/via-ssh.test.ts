/**
 * The steps that reach the hosts from this machine (leave, owner check, health) run for real in dash against a fleet of
 * fake hosts behind a fake ssh: a lost host is passed over in seconds, a swapped host key stops the step, the private key
 * never reaches a host, and a removal acts only on a cluster this stack owns.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { KEY_DATA, fakeFleet } from "./fake-fleet";
import { DtrCluster, DtrClusterArgs } from "../../components/cluster/dtr-cluster";
import { ownershipScript } from "../../components/hosts/ownership";
import { existingHosts } from "../../components/hosts/existing-hosts";
import { viaTargets } from "../../components/hosts/via-ssh";
import { deriveReplicaId } from "../../components/cluster/topology";

const A = "organization/dtr-ha/lab";
const B = "organization/dtr-ha/lab-rebuilt";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTHE-SSH-KEY\n-----END OPENSSH PRIVATE KEY-----";
const ADDR = ["10.200.0.11", "10.200.0.12", "10.200.0.13"];
const ids = [1, 2, 3].map((i) => deriveReplicaId("lab", `host${i}`));

function build(): Declared[] {
    const declared: Declared[] = [];
    const args: DtrClusterArgs = {
        clusterName: "lab",
        hosts: existingHosts(
            ADDR.map((a, i) => ({ name: `host${i + 1}`, address: a, zone: `z${i}`, hostKey: `ssh-ed25519 ${KEY_DATA}` })),
            pulumi.secret(SSH_KEY),
        ),
        image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
        ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
        ucpPassword: pulumi.secret("the-ucp-password"),
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "172.16.240.0/24",
        storage: { s3: { region: "us-east-1", bucket: "dtr-layers", accessKey: "a", secretKey: "s", secure: false } },
        owner: A,
    };
    new DtrCluster(`v${Math.random().toString(36).slice(2, 8)}`, args, { transformations: [captureDeclarations(declared)] });
    return declared;
}

/** Every host's record says `owner`; DTR's status lists the three replicas with host3's down unless told otherwise. */
function fleetOwnedBy(owner: string, health: Record<string, string> = { [ids[0]]: "OK", [ids[1]]: "OK", [ids[2]]: "unreachable" }) {
    const f = fakeFleet(ADDR);
    ADDR.forEach((a, i) => {
        f.hosts[a].run(ownershipScript("claim"), { DTR_HA_OWNER: owner, DTR_HA_REPLICA_ID: ids[i] });
        f.hosts[a].setStatus(health);
        f.hosts[a].setPing({ [ADDR[2]]: "unreachable" });
    });
    return f;
}
const removes = (calls: string[]) => calls.filter((c) => / remove /.test(c));

describe("steps run from this machine over SSH (fake fleet, dash)", function () {
    this.timeout(30_000);

    it("a lost host leaves the config: its replica is removed through another host, never over SSH to it, in seconds", async () => {
        const d = build();
        await settle();
        const leave = d.find((x) => x.name.endsWith("-leave-host3"))!;
        assert.strictEqual(leave.type, "command:local:Command");
        const env = await valueOf<Record<string, string>>(leave.props.environment);
        assert.ok(await (leave.props.environment as any).isSecret, "the environment holds the SSH key: secret as a whole");
        const f = fleetOwnedBy(A);
        f.down(ADDR[2]);
        const t0 = Date.now();
        const r = f.run(await valueOf<string>(leave.props.delete), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.ok(Date.now() - t0 < 10_000, "no dial retries");
        const calls = f.calls();
        assert.strictEqual(removes(calls[ADDR[0]]).length, 1, calls[ADDR[0]].join(" | "));
        assert.match(removes(calls[ADDR[0]])[0], new RegExp(`--existing-replica-id ${ids[0]} --replica-ids ${ids[2]}`));
        assert.deepStrictEqual(removes(calls[ADDR[1]]), []);
        assert.deepStrictEqual(f.reached(), [ADDR[0], ADDR[2]], "through host1, then host3's record (unreachable)");
        assert.match(r.stdout, /host3 is unreachable: its ownership record stays there/);
        for (const line of f.sent()) {
            assert.ok(!/DTRHA_SSH_PRIVATE_KEY|SCRIPT|SSH_TARGETS/.test(line), `only DTR_*/UCP_* data reach a host: ${line}`);
            assert.match(line, /UCP_PASSWORD/, "the password as data, through SendEnv");
        }
        assert.ok(!(await valueOf<string>(leave.props.delete)).includes("the-ucp-password"));
    });

    it("no special replica: with host1 lost as well, the removal goes through host2", async () => {
        const d = build();
        await settle();
        const leave = d.find((x) => x.name.endsWith("-leave-host3"))!;
        const f = fleetOwnedBy(A);
        f.down(ADDR[0]);
        f.down(ADDR[2]);
        ADDR.forEach((a) => f.hosts[a].setPing({ [ADDR[0]]: "unreachable", [ADDR[2]]: "unreachable" }));
        const r = f.run(await valueOf<string>(leave.props.delete), await valueOf<Record<string, string>>(leave.props.environment));
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(removes(f.calls()[ADDR[1]])[0], new RegExp(`--existing-replica-id ${ids[1]} --replica-ids ${ids[2]}`));
        assert.match(r.stderr, /host host1 \(10\.200\.0\.11\) is unreachable/);
        // Never through the leaving host itself, even when it is the only one that answers.
        const alone = fleetOwnedBy(A);
        alone.down(ADDR[0]);
        alone.down(ADDR[1]);
        const a = alone.run(await valueOf<string>(leave.props.delete), await valueOf<Record<string, string>>(leave.props.environment));
        assert.strictEqual(a.code, 1);
        assert.match(a.stderr, /no host of the stack other than host3 is reachable/);
        assert.deepStrictEqual(Object.values(alone.calls()).flatMap(removes), []);
        // Nor through its own replica, even when the candidate list names it.
        const env = await valueOf<Record<string, string>>(leave.props.environment);
        const h = fleetOwnedBy(A).hosts[ADDR[1]];
        h.setPing({});
        const self = h.run(env.DTR_HA_REMOVE_SCRIPT, {
            ...env,
            DTR_HA_REPLICA_ID: ids[1],
            DTR_HA_CANDIDATES: `${ids[2]} ${ADDR[2]} ${env.DTR_HA_CANDIDATES}`,
        });
        assert.strictEqual(self.code, 0, self.stderr);
        assert.match(removes(self.calls)[0], new RegExp(`--existing-replica-id ${ids[0]} --replica-ids ${ids[2]}`));
    });

    it("another stack's cluster (after a rebuild) is left alone; a swapped host key stops the step; a done removal is not repeated", async () => {
        const d = build();
        await settle();
        const leave = d.find((x) => x.name.endsWith("-leave-host3"))!;
        const del = await valueOf<string>(leave.props.delete);
        const env = await valueOf<Record<string, string>>(leave.props.environment);
        const theirs = fleetOwnedBy(B);
        // B's replica (same id after a rebuild) runs on host3: the leave step neither waits for it to go nor releases it.
        require("fs").writeFileSync(`${theirs.hosts[ADDR[2]].dir}/containers`, `dtr-api-${ids[2]}\n`);
        const t0 = Date.now();
        const r = theirs.run(del, env);
        assert.ok(Date.now() - t0 < 10_000, "no wait for another stack's replica to go");
        assert.doesNotMatch(r.stderr, /still on/);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(Object.values(theirs.calls()).flatMap(removes), [], "nothing removed on B's cluster");
        assert.match(r.stderr, /belongs to stack organization\/dtr-ha\/lab-rebuilt/);
        assert.ok(
            theirs.hosts[ADDR[2]].run("docker volume ls -q --filter name=dtrha_owner_", {}).stdout.includes(ids[2]),
            "B's record stays",
        );

        const swapped = fleetOwnedBy(A);
        swapped.swapKey(ADDR[0]);
        const s = swapped.run(del, env);
        assert.strictEqual(s.code, 1, "a host that is not the pinned one is a failure, not 'unreachable'");
        assert.deepStrictEqual(Object.values(swapped.calls()).flatMap(removes), []);
        assert.deepStrictEqual(swapped.reached(), [ADDR[0]], "and the step does not go on to another host");

        const done = fleetOwnedBy(A, { [ids[0]]: "OK", [ids[1]]: "OK" });
        const again = done.run(del, env);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.deepStrictEqual(Object.values(done.calls()).flatMap(removes), []);
        assert.match(again.stdout, /no longer in DTR's replica set/);
        assert.ok(
            !done.hosts[ADDR[2]].run("docker volume ls -q --filter name=dtrha_owner_", {}).stdout.includes(ids[2]),
            "host3's record released",
        );
    });

    it("the owner check names a lost host and passes over it, and stops the up on another stack's replica", async () => {
        const d = build();
        await settle();
        const check = d.find((x) => /-owners$/.test(x.name))!;
        assert.strictEqual(check.type, "command:local:Command");
        const env = await valueOf<Record<string, string>>(check.props.environment);
        assert.ok(env.DTR_HA_RUN, "a per-run value: it runs on every up");
        const f = fleetOwnedBy(A);
        f.down(ADDR[1]);
        const r = f.run(await valueOf<string>(check.props.update), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /host host2: unreachable, not checked/);
        assert.strictEqual(
            (r.stdout.match(/^dtr-ha owner: replica [0-9a-f]{12} on .* belongs to organization\/dtr-ha\/lab/gm) ?? []).length,
            2,
        );
        const g = fleetOwnedBy(A);
        g.hosts[ADDR[2]].run(ownershipScript("take_over"), { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: ids[2], DTR_HA_DESTROY_EXISTING: "true" });
        const stop = g.run(await valueOf<string>(check.props.update), env);
        assert.strictEqual(stop.code, 1);
        assert.match(stop.stderr, /belongs to stack organization\/dtr-ha\/lab-rebuilt/);
        for (const step of ["-install", "-storage", "-join-host2", "-join-host3", "-version"]) {
            assert.ok(d.find((x) => x.name.endsWith(step))!.dependsOn.includes(check.name), `${step} waits for the owner check`);
        }
        for (const i of [1, 2, 3]) {
            const own = d.find((x) => x.name.endsWith(`-owner-host${i}`))!;
            assert.strictEqual(own.props.delete, undefined, "a host-bound step with a delete would dial a lost host");
            assert.ok(!(await valueOf<Record<string, string>>(own.props.environment)).DTR_HA_RUN, "nor run on every up");
        }
    });

    it("the health gate runs on the first host that answers; with none, it fails saying so", async () => {
        const d = build();
        await settle();
        const gate = d.find((x) => x.name.endsWith("-health"))!;
        const env = await valueOf<Record<string, string>>(gate.props.environment);
        const f = fleetOwnedBy(A);
        f.down(ADDR[0]);
        const r = f.run(await valueOf<string>(gate.props.update), {
            ...env,
            DTR_HA_GATE_CHECK: 'echo "gate on $(hostname) for $DTR_HA_REPLICA_ID"',
        });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`gate on .* for ${ids[1]}`));
        ADDR.forEach((a) => f.down(a));
        const none = f.run(await valueOf<string>(gate.props.update), env);
        assert.strictEqual(none.code, 1);
        assert.match(none.stderr, /no host of the stack is reachable; nothing was run/);
    });

    it("refuses host records that cannot travel as data, naming the host and the fix", () => {
        const t = { name: "host1", replicaId: ids[0], address: "10.0.0.1", port: 22, user: "root", hostKey: `ssh-ed25519 ${KEY_DATA}` };
        assert.match(viaTargets([t]), new RegExp(`^host1 ${ids[0]} 10.0.0.1 22 root ssh-ed25519 ${KEY_DATA}$`));
        assert.throws(
            () => viaTargets([{ ...t, address: "10.0.0.1;reboot" }]),
            /host "host1": address "10.0.0.1;reboot" is not a host address/,
        );
        assert.throws(() => viaTargets([{ ...t, hostKey: "" }]), /connection.hostKey "" is not "<type> <base64>": pin/);
        assert.throws(() => viaTargets([{ ...t, user: "$(id)" }]), /user "\$\(id\)" is not a login name/);
    });

    it("a join removes first the members the stack no longer declares that DTR reports unhealthy, and refuses while a declared one is", async () => {
        const d = build();
        await settle();
        const join = d.find((x) => x.name.endsWith("-join-host3"))!;
        const env = await valueOf<Record<string, string>>(join.props.environment);
        const script = await valueOf<string>(join.props.create);
        const gone = "0a0b0c0d0e0f";
        const f = fleetOwnedBy(A);
        const h = f.hosts[ADDR[2]];
        h.setPing({});
        h.setStatus({ [ids[0]]: "OK", [ids[1]]: "OK", [gone]: "unreachable: host lost" });
        const r = h.run(script, env);
        assert.strictEqual(r.code, 0, r.stderr);
        const dtr = r.calls.filter((c) => / (remove|join) /.test(c));
        assert.strictEqual(dtr.length, 2, dtr.join(" | "));
        assert.match(dtr[0], new RegExp(` remove .*--existing-replica-id ${ids[0]} --replica-ids ${gone}$`), "the lost one first");
        assert.match(dtr[1], new RegExp(` join .*--replica-id ${ids[2]}`), "then the join");
        h.setStatus({ [ids[0]]: "OK", [ids[1]]: "unreachable: host lost", [gone]: "OK" });
        const refused = h.run(script, env);
        assert.strictEqual(refused.code, 1);
        assert.match(refused.stderr, new RegExp(`declared replica\\(s\\) ${ids[1]} are unhealthy`));
        assert.deepStrictEqual(
            refused.calls.filter((c) => / (remove|join) /.test(c)),
            [],
            "nothing removed, nothing joined",
        );
    });
});
