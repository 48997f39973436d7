// Each command's flags and their environment variables against DTR 2.7's reference option tables
// (docker/docs reference/dtr/2.7/cli/<command>.md, "Option | Environment Variable"), transcribed here.
import assert from "node:assert/strict";
import * as F from "../../src/flags";

const common = {
    debug: "DEBUG",
    "help-extended": "DTR_EXTENDED_HELP",
    "ucp-ca": "UCP_CA",
    "ucp-insecure-tls": "UCP_INSECURE_TLS",
    "ucp-password": "UCP_PASSWORD",
    "ucp-url": "UCP_URL",
    "ucp-username": "UCP_USERNAME",
};
const logProxyPprof = {
    "enable-pprof": "DTR_PPROF",
    "http-proxy": "DTR_HTTP_PROXY",
    "https-proxy": "DTR_HTTPS_PROXY",
    "log-host": "LOG_HOST",
    "log-level": "LOG_LEVEL",
    "log-protocol": "LOG_PROTOCOL",
    "no-proxy": "DTR_NO_PROXY",
    "replica-rethinkdb-cache-mb": "RETHINKDB_CACHE_MB",
};
const tls = { "dtr-ca": "DTR_CA", "dtr-cert": "DTR_CERT", "dtr-key": "DTR_KEY" };
const ports = { "replica-http-port": "REPLICA_HTTP_PORT", "replica-https-port": "REPLICA_HTTPS_PORT" };
const nfsClientCert = {
    "async-nfs": "ASYNC_NFS",
    "client-cert-auth-ca": "CLIENT_CA",
    "enable-client-cert-auth": "ENABLE_CLIENT_CERT_AUTH",
    "nfs-options": "NFS_OPTIONS",
};
const storage = { "dtr-storage-volume": "DTR_STORAGE_VOLUME", "nfs-storage-url": "NFS_STORAGE_URL" };

const reference: Record<string, Record<string, string>> = {
    install: {
        ...common,
        ...logProxyPprof,
        ...tls,
        ...ports,
        ...nfsClientCert,
        ...storage,
        "dtr-external-url": "DTR_EXTERNAL_URL",
        "overlay-subnet": "DTR_OVERLAY_SUBNET",
        "replica-id": "DTR_INSTALL_REPLICA_ID",
        "ucp-node": "UCP_NODE",
    },
    join: {
        ...common,
        ...ports,
        "existing-replica-id": "DTR_REPLICA_ID",
        "replica-id": "DTR_INSTALL_REPLICA_ID",
        "replica-rethinkdb-cache-mb": "RETHINKDB_CACHE_MB",
        "skip-network-test": "DTR_SKIP_NETWORK_TEST",
        "ucp-node": "UCP_NODE",
        "unsafe-join": "DTR_UNSAFE_JOIN",
    },
    backup: { ...common, "existing-replica-id": "DTR_REPLICA_ID", "offline-backup": "DTR_OFFLINE_BACKUP" },
    restore: {
        ...common,
        ...logProxyPprof,
        ...tls,
        ...ports,
        ...storage,
        "dtr-external-url": "DTR_EXTERNAL_URL",
        "dtr-use-default-storage": "DTR_DEFAULT_STORAGE",
        "replica-id": "DTR_INSTALL_REPLICA_ID",
        "ucp-node": "UCP_NODE",
    },
    destroy: { ...common, "replica-id": "DTR_DESTROY_REPLICA_ID" },
    remove: {
        ...common,
        "existing-replica-id": "DTR_REPLICA_ID",
        "replica-id": "DTR_REMOVE_REPLICA_ID",
        "replica-ids": "DTR_REMOVE_REPLICA_IDS",
    },
    upgrade: { ...common, "existing-replica-id": "DTR_REPLICA_ID" },
    reconfigure: {
        ...common,
        ...logProxyPprof,
        ...tls,
        ...ports,
        ...nfsClientCert,
        ...storage,
        "dtr-external-url": "DTR_EXTERNAL_URL",
        "existing-replica-id": "DTR_REPLICA_ID",
        "storage-migrated": "STORAGE_MIGRATED",
    },
    "emergency-repair": {
        ...common,
        "existing-replica-id": "DTR_REPLICA_ID",
        "overlay-subnet": "DTR_OVERLAY_SUBNET",
        prune: "PRUNE",
        yes: "YES",
    },
};

const ucp = ["--ucp-url", "https://ucp.example", "--ucp-username", "admin", "--ucp-insecure-tls"];
const A = "aaaaaaaaaaaa",
    B = "bbbbbbbbbbbb";

describe("flags and env names per command (reference/dtr/2.7/cli/*.md)", () => {
    for (const [cmd, want] of Object.entries(reference)) {
        it(`${cmd}: exactly the documented flags, each with its documented environment variable`, () => {
            const have = Object.fromEntries(F.commands[cmd].flags.map((f) => [f.name, f.env ?? "(none)"]));
            assert.deepEqual(have, want);
        });
    }

    it("join: $DTR_REPLICA_ID is the EXISTING replica, $DTR_INSTALL_REPLICA_ID the new one (reference/dtr/2.7/cli/join.md)", () => {
        const f = F.parseFlags("join", [...ucp, "--ucp-node", "n2"], {
            env: { UCP_PASSWORD: "pw", DTR_REPLICA_ID: A, DTR_INSTALL_REPLICA_ID: B },
            stdinIsTTY: false,
        });
        assert.deepEqual([f["existing-replica-id"], f["replica-id"]], [A, B]);
        // $DTR_INSTALL_REPLICA_ID alone does not name the existing replica: DTR would prompt, here EOF.
        assert.throws(
            () =>
                F.parseFlags("join", [...ucp, "--ucp-node", "n2"], {
                    env: { UCP_PASSWORD: "pw", DTR_INSTALL_REPLICA_ID: B },
                    stdinIsTTY: false,
                }),
            /EOF unexpected end of file[\s\S]*--existing-replica-id \(or env DTR_REPLICA_ID\)/,
        );
    });

    it("install and restore take the new replica's id from $DTR_INSTALL_REPLICA_ID, not $DTR_REPLICA_ID", () => {
        for (const cmd of ["install", "restore"]) {
            const f = F.parseFlags(cmd, [...ucp, "--ucp-node", "n1"], {
                env: { UCP_PASSWORD: "pw", DTR_REPLICA_ID: A, DTR_INSTALL_REPLICA_ID: B },
                stdinIsTTY: false,
            });
            assert.equal(f["replica-id"], B, cmd);
        }
    });

    it("env booleans: $DTR_DEFAULT_STORAGE, $DTR_OFFLINE_BACKUP, $DTR_SKIP_NETWORK_TEST, $DTR_UNSAFE_JOIN, $STORAGE_MIGRATED", () => {
        const env = (e: Record<string, string>) => ({ env: { UCP_PASSWORD: "pw", ...e }, stdinIsTTY: false });
        assert.equal(
            F.parseFlags("restore", [...ucp, "--ucp-node", "n"], env({ DTR_DEFAULT_STORAGE: "1" }))["dtr-use-default-storage"],
            true,
        );
        assert.equal(
            F.parseFlags("backup", [...ucp, "--existing-replica-id", A], env({ DTR_OFFLINE_BACKUP: "true" }))["offline-backup"],
            true,
        );
        const j = F.parseFlags(
            "join",
            [...ucp, "--ucp-node", "n", "--existing-replica-id", A],
            env({ DTR_SKIP_NETWORK_TEST: "t", DTR_UNSAFE_JOIN: "T" }),
        );
        assert.deepEqual([j["skip-network-test"], j["unsafe-join"]], [true, true]);
        assert.equal(
            F.parseFlags("reconfigure", [...ucp, "--existing-replica-id", A], env({ STORAGE_MIGRATED: "True" }))["storage-migrated"],
            true,
        );
    });

    it("refuses restore --overlay-subnet and remove --force-remove, which 2.6/2.7 do not define", () => {
        assert.throws(
            () =>
                F.parseFlags("restore", [...ucp, "--ucp-node", "n", "--overlay-subnet", "10.1.0.0/24"], {
                    env: { UCP_PASSWORD: "pw" },
                    stdinIsTTY: false,
                }),
            /flag provided but not defined: -overlay-subnet\n.*reference\/dtr\/2\.7\/cli\/restore\.md/,
        );
        assert.throws(
            () =>
                F.parseFlags("remove", [...ucp, "--existing-replica-id", A, "--force-remove"], {
                    env: { UCP_PASSWORD: "pw" },
                    stdinIsTTY: false,
                }),
            /flag provided but not defined: -force-remove/,
        );
    });

    it("accepts restore's documented proxy, log, pprof and cache flags", () => {
        const f = F.parseFlags(
            "restore",
            [
                ...ucp,
                "--ucp-node",
                "n",
                "--http-proxy",
                "http://p:3128",
                "--https-proxy",
                "http://p:3128",
                "--no-proxy",
                "acme.com",
                "--log-host",
                "syslog:514",
                "--log-protocol",
                "udp",
                "--log-level",
                "INFO",
                "--enable-pprof=false",
                "--replica-rethinkdb-cache-mb",
                "512",
            ],
            { env: { UCP_PASSWORD: "pw" }, stdinIsTTY: false },
        );
        assert.deepEqual([f["log-protocol"], f["enable-pprof"], f["replica-rethinkdb-cache-mb"]], ["udp", false, "512"]);
    });

    it("--log-protocol is tcp, udp or internal and --log-level debug..fatal; NFS tuning needs --nfs-storage-url (install.md)", () => {
        const parse = (more: string[]) =>
            F.parseFlags("install", [...ucp, "--ucp-node", "n", ...more], { env: { UCP_PASSWORD: "pw" }, stdinIsTTY: false });
        for (const p of ["tcp", "udp", "internal"]) assert.equal(parse(["--log-protocol", p])["log-protocol"], p);
        assert.throws(
            () => parse(["--log-protocol", "tcp+tls"]),
            /--log-protocol 'tcp\+tls' is not one of DTR's documented values tcp, udp, internal/,
        );
        assert.throws(() => parse(["--log-level", "verbose"]), /--log-level 'verbose' is not one of DTR's documented levels/);
        assert.throws(() => parse(["--nfs-options", "rw,nfsvers=4,async"]), /need --nfs-storage-url/);
        assert.doesNotThrow(() => parse(["--nfs-storage-url", "nfs://nas/x", "--async-nfs", "--nfs-options", "rw,nfsvers=4"]));
        assert.throws(() => parse(["--enable-client-cert-auth"]), /does not implement TLS client certificate authentication/);
    });
});
