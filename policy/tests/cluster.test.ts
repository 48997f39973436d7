import * as assert from "node:assert/strict";
import { UNKNOWN, TYPES, ROLE_TAG, checkReplicaCount, checkReplicaZones, checkClusterStorage } from "../rules";
import { cluster, res } from "./fixtures";

describe("dtr-replica-count-odd-min-3", () => {
    it("passes 3 and 5 replicas", () => {
        assert.deepEqual(checkReplicaCount([cluster({ replicaCount: 3 })]), []);
        assert.deepEqual(checkReplicaCount([cluster({ replicaCount: 5 })]), []);
    });
    it("fails 2 replicas, naming the cluster and the fix", () => {
        const c = cluster({ replicaCount: 2 });
        const v = checkReplicaCount([c]);
        assert.equal(v.length, 1);
        assert.equal(v[0].urn, c.urn);
        assert.match(v[0].message, /DtrCluster "registry" \(urn:pulumi:lab::dtr-ha::dtr-ha:index:DtrCluster::registry\)/);
        assert.match(v[0].message, /replicaCount 2/);
        assert.match(v[0].message, /set replicaCount to 3/);
    });
    it("fails 1 and 4 replicas, and a non-number", () => {
        assert.match(checkReplicaCount([cluster({ replicaCount: 1 })])[0].message, /set replicaCount to 3\./);
        assert.match(checkReplicaCount([cluster({ replicaCount: 4 })])[0].message, /set replicaCount to 5\./);
        assert.match(checkReplicaCount([cluster({ replicaCount: "3" })])[0].message, /not a whole number/);
    });
    it("skips only an unknown count", () => {
        const v = checkReplicaCount([cluster({ replicaCount: UNKNOWN }, "a"), cluster({ replicaCount: 2 }, "b")]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /"b"/);
    });
});

describe("dtr-one-replica-per-zone", () => {
    it("passes one replica per zone", () => {
        assert.deepEqual(checkReplicaZones([cluster({})]), []);
    });
    it("fails two replicas in one zone, naming them and the fix", () => {
        const v = checkReplicaZones([cluster({ zones: ["zone-a", "zone-a", "zone-c"] })]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /DtrCluster "registry"/);
        assert.match(v[0].message, /zone "zone-a" holds replica 1 \(dtr-1\), replica 2 \(dtr-2\)/);
        assert.match(v[0].message, /place each replica in its own availability zone/);
    });
    it("fails a missing zone, a blank zone and a zone count that does not match", () => {
        assert.match(checkReplicaZones([cluster({ zones: undefined })])[0].message, /registers no zones output/);
        assert.match(checkReplicaZones([cluster({ zones: ["zone-a", "", "zone-c"] })])[0].message, /no zone for replica 2/);
        assert.match(checkReplicaZones([cluster({ zones: ["zone-a", "zone-b"] })])[0].message, /lists 2 zones for 3 replicas/);
    });
    it("skips unknown zones but still reports known duplicates", () => {
        assert.deepEqual(checkReplicaZones([cluster({ zones: UNKNOWN })]), []);
        const v = checkReplicaZones([cluster({ replicaCount: 3, zones: ["z1", UNKNOWN, "z1"] })]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /zone "z1" holds replica 1 \(dtr-1\), replica 3 \(dtr-3\)/);
    });
    const instance = (name: string, az: unknown, parent?: string) =>
        res(TYPES.instance, name, { tags: { [ROLE_TAG]: "replica" }, availabilityZone: az }, { parent });
    it("passes replica instances in three zones", () => {
        const v = checkReplicaZones([instance("dtr-1", "eu-west-1a"), instance("dtr-2", "eu-west-1b"), instance("dtr-3", "eu-west-1c")]);
        assert.deepEqual(v, []);
    });
    it("fails replica instances sharing a zone", () => {
        const v = checkReplicaZones([
            instance("dtr-1", "eu-west-1a"),
            instance("dtr-2", "eu-west-1a"),
            instance("dtr-3", UNKNOWN),
            res(TYPES.instance, "bastion", { tags: { [ROLE_TAG]: "bastion" }, availabilityZone: "eu-west-1a" }),
        ]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /zone "eu-west-1a" holds "dtr-1", "dtr-2"/);
        assert.match(v[0].message, /Instance "dtr-1" \(urn:/);
        assert.match(v[0].message, /give each replica instance its own availabilityZone/);
    });
});

describe("dtr-no-filesystem-storage-multi-replica", () => {
    it("passes S3 and NFS storage for 3 replicas, and filesystem for a single replica", () => {
        assert.deepEqual(checkClusterStorage([cluster({ storageKind: "s3" }), cluster({ storageKind: "nfs" }, "b")]), []);
        assert.deepEqual(checkClusterStorage([cluster({ storageKind: "filesystem", replicaCount: 1 })]), []);
    });
    it("fails filesystem storage for 3 replicas, naming the cluster and the fix", () => {
        const v = checkClusterStorage([cluster({ storageKind: "filesystem" })]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /DtrCluster "registry" \(urn:.*\) stores image layers on each host's local filesystem with 3 replicas/);
        assert.match(v[0].message, /set storage to "s3" \(or "nfs"\)/);
    });
    it("skips an unknown storage kind", () => {
        assert.deepEqual(checkClusterStorage([cluster({ storageKind: UNKNOWN })]), []);
    });
});

describe("dtr-one-replica-per-zone grouping", () => {
    it("compares replica instances within one deployment only", () => {
        const comp = (name: string) => res("dtr-ha:index:DtrHosts", name, {});
        const inst = (name: string, parent: string) =>
            res(TYPES.instance, name, { tags: { [ROLE_TAG]: "replica" }, availabilityZone: "eu-west-1a" }, { parent });
        const a = comp("blue");
        const b = comp("green");
        assert.deepEqual(checkReplicaZones([a, b, inst("blue-1", a.urn), inst("green-1", b.urn)]), []);
        assert.equal(checkReplicaZones([a, inst("blue-1", a.urn), inst("blue-2", a.urn)]).length, 1);
    });
});
