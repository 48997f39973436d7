import * as assert from "assert";
import {
    DtrCommandError,
    backupCommand,
    destroyCommand,
    emergencyRepairCommand,
    installCommand,
    joinCommand,
    removeCommand,
    restoreCommand,
    upgradeCommand,
} from "../../components/dtr-cli/commands";
import { shellJoin, shellQuote } from "../../components/dtr-cli/shell";
import { curlCall } from "../../components/dtr-cli/api";

const image = { repository: "mirantis/dtr", version: "2.9.16" };
const ucp = { url: "https://ucp.example.com", username: "admin", caPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" };
const R1 = "0123456789ab";
const R2 = "bbbbbbbbbbbb";

describe("shell quoting", () => {
    it("leaves safe words bare and single-quotes the rest", () => {
        assert.strictEqual(shellQuote("--ucp-url"), "--ucp-url");
        assert.strictEqual(shellQuote("a b"), "'a b'");
        assert.strictEqual(shellQuote("it's"), `'it'\\''s'`);
        assert.strictEqual(shellQuote(""), "''");
        assert.strictEqual(shellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
    });
    it("joins quoted words", () => {
        assert.strictEqual(shellJoin(["echo", "a b", "c"]), "echo 'a b' c");
    });
});

describe("dtr command lines", () => {
    it("install passes every flag, the CA as PEM, and the password only by name", () => {
        const cmd = installCommand({
            image,
            ucp,
            ucpNode: "node-1",
            replicaId: R1,
            externalUrl: "https://dtr.example.com",
            overlaySubnet: "172.16.240.0/24",
            httpsPort: 443,
        });
        assert.match(cmd, /^docker run --rm -e UCP_PASSWORD mirantis\/dtr:2\.9\.16 install /);
        assert.match(
            cmd,
            /--ucp-url https:\/\/ucp\.example\.com --ucp-username admin --ucp-ca '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'/,
        );
        assert.match(cmd, /--ucp-node node-1 --replica-id 0123456789ab --dtr-external-url https:\/\/dtr\.example\.com/);
        assert.match(cmd, /--overlay-subnet 172\.16\.240\.0\/24/);
        assert.doesNotMatch(cmd, /--ucp-password/);
        assert.doesNotMatch(cmd, /-t\b|--tty/);
    });

    it("install passes the DTR key by environment when asked", () => {
        const cmd = installCommand({ image, ucp, ucpNode: "n", replicaId: R1, externalUrl: "https://d.example.com", withDtrKey: true });
        assert.match(cmd, /-e UCP_PASSWORD -e DTR_KEY /);
        assert.doesNotMatch(cmd, /--dtr-key/);
    });

    it("refuses a log protocol DTR 2.7 does not document (tcp+tls), naming the choices (reference/dtr/2.7/cli/install.md)", () => {
        const base = { image, ucp, ucpNode: "n", replicaId: R1, externalUrl: "https://d.example.com", logHost: "logs:514" };
        assert.match(installCommand({ ...base, logProtocol: "udp" }), / --log-protocol udp /);
        assert.throws(
            () => installCommand({ ...base, logProtocol: "tcp+tls" as "tcp" }),
            /--log-protocol="tcp\+tls" is not valid: use tcp, udp or internal/,
        );
    });

    it("refuses an external URL whose port differs from the replica HTTPS port (the install hang)", () => {
        assert.throws(
            () => installCommand({ image, ucp, ucpNode: "n", replicaId: R1, externalUrl: "https://dtr.example.com:4443", httpsPort: 443 }),
            (e: Error) =>
                e instanceof DtrCommandError &&
                /port 4443 differs from --replica-https-port 443/.test(e.message) &&
                /Waiting for DTR to start/.test(e.message),
        );
        assert.doesNotThrow(() =>
            installCommand({ image, ucp, ucpNode: "n", replicaId: R1, externalUrl: "https://dtr.example.com:4443", httpsPort: 4443 }),
        );
    });

    it("refuses bad replica ids, http URLs and missing UCP trust", () => {
        assert.throws(
            () => installCommand({ image, ucp, ucpNode: "n", replicaId: "XYZ", externalUrl: "https://d.example.com" }),
            /--replica-id="XYZ".*12 lower-case hex/,
        );
        assert.throws(() => installCommand({ image, ucp, ucpNode: "n", replicaId: R1, externalUrl: "http://d.example.com" }), /HTTPS/);
        assert.throws(
            () =>
                installCommand({
                    image,
                    ucp: { url: "https://u", username: "admin" },
                    ucpNode: "n",
                    replicaId: R1,
                    externalUrl: "https://d.example.com",
                }),
            /--ucp-ca.*give UCP's CA certificate/,
        );
        assert.throws(
            () =>
                installCommand({
                    image,
                    ucp: { ...ucp, insecureTls: true },
                    ucpNode: "n",
                    replicaId: R1,
                    externalUrl: "https://d.example.com",
                }),
            /either --ucp-ca or --ucp-insecure-tls/,
        );
        assert.throws(
            () =>
                installCommand({
                    image: { repository: "x", version: "bad tag!" },
                    ucp,
                    ucpNode: "n",
                    replicaId: R1,
                    externalUrl: "https://d.example.com",
                }),
            /image.version/,
        );
    });

    it("join copies from an existing replica and never uses the unsafe flags", () => {
        const cmd = joinCommand({ image, ucp, ucpNode: "node-2", existingReplicaId: R1, replicaId: R2 });
        assert.match(cmd, / join [\s\S]*--ucp-node node-2 --existing-replica-id 0123456789ab --replica-id bbbbbbbbbbbb/);
        assert.doesNotMatch(cmd, /--unsafe-join|--skip-network-test/);
        assert.throws(() => joinCommand({ image, ucp, ucpNode: "n", existingReplicaId: R1, replicaId: R1 }), /cannot join itself/);
    });

    it("backup uses -i, never -t, and keeps its bytes out of container logs", () => {
        const cmd = backupCommand({ image, ucp, existingReplicaId: R1 });
        assert.match(cmd, /^docker run --rm -i --log-driver none -e UCP_PASSWORD mirantis\/dtr:2\.9\.16 backup /);
        assert.doesNotMatch(cmd, / -t | -it | --tty/);
        assert.match(cmd, /--existing-replica-id 0123456789ab$/);
        assert.match(backupCommand({ image, ucp, existingReplicaId: R1, offline: true }), /--offline-backup$/);
    });

    it("restore reads stdin and gets exactly one storage flag", () => {
        const base = { image, ucp, replicaId: R1, ucpNode: "n1", externalUrl: "https://d.example.com" };
        const def = restoreCommand({ ...base, storage: { kind: "default" } });
        assert.match(def, /^docker run --rm -i -e UCP_PASSWORD .* restore /);
        assert.match(def, /--dtr-use-default-storage/);
        assert.doesNotMatch(def, /--nfs-storage-url|--dtr-storage-volume/);
        assert.match(restoreCommand({ ...base, storage: { kind: "volume", volume: "dtr-store" } }), /--dtr-storage-volume dtr-store$/);
        assert.match(restoreCommand({ ...base, storage: { kind: "nfs", url: "nfs://nas/dtr" } }), /--nfs-storage-url nfs:\/\/nas\/dtr$/);
        assert.throws(() => restoreCommand({ ...base, storage: { kind: "nfs", url: "nas:/dtr" } }), /nfs:\/\/<host>\/<path>/);
        assert.throws(() => restoreCommand({ ...base, storage: { kind: "s3" } as any }), /exactly one of "default", "volume", "nfs"/);
        // Every flag restore would otherwise prompt for is present (a prompt without a TTY fails with "EOF").
        for (const flag of ["--ucp-url", "--ucp-username", "--ucp-ca", "--ucp-node", "--replica-id", "--dtr-external-url"]) {
            assert.ok(def.includes(flag), `restore lacks ${flag}`);
        }
    });

    it("remove refuses to remove the replica it runs from", () => {
        assert.match(
            removeCommand({ image, ucp, existingReplicaId: R1, replicaIds: [R2] }),
            / remove [\s\S]*--existing-replica-id 0123456789ab --replica-ids bbbbbbbbbbbb$/,
        );
        // The documented comma list; never the deprecated --replica-id alias (reference/dtr/2.7/cli/remove.md).
        const two = removeCommand({ image, ucp, existingReplicaId: R1, replicaIds: [R2, "cccccccccccc"] });
        assert.match(two, /--replica-ids bbbbbbbbbbbb,cccccccccccc$/);
        assert.doesNotMatch(two, /--replica-id |--force-remove/);
        assert.throws(() => removeCommand({ image, ucp, existingReplicaId: R1, replicaIds: [R1] }), /run remove from a replica that stays/);
        assert.throws(() => removeCommand({ image, ucp, existingReplicaId: R1, replicaIds: [] }), /at least one/);
    });

    it("destroy, upgrade and emergency-repair name their replica", () => {
        assert.match(destroyCommand({ image, ucp, replicaId: R1 }), / destroy [\s\S]*--replica-id 0123456789ab$/);
        assert.match(upgradeCommand({ image, ucp, existingReplicaId: R1 }), / upgrade [\s\S]*--existing-replica-id 0123456789ab$/);
        assert.match(
            emergencyRepairCommand({ image, ucp, existingReplicaId: R1, overlaySubnet: "172.16.1.0/24" }),
            / emergency-repair [\s\S]*--existing-replica-id 0123456789ab --overlay-subnet 172\.16\.1\.0\/24 --yes$/,
        );
    });

    it("emergency-repair answers DTR's prompt with --yes: it runs without a TTY (reference/dtr/2.7/cli/emergency-repair.md)", () => {
        const cmd = emergencyRepairCommand({ image, ucp, existingReplicaId: R1 });
        assert.match(cmd, / emergency-repair [\s\S]*--existing-replica-id 0123456789ab --yes$/);
        assert.doesNotMatch(cmd, / -t | -it /);
    });

    it("mounts the engine socket only when asked (dtr-sim in the lab)", () => {
        const plain = destroyCommand({ image, ucp, replicaId: R1 });
        assert.doesNotMatch(plain, /docker\.sock/);
        const lab = destroyCommand({ image, ucp, replicaId: R1, run: { mountEngineSocket: true, debug: true } });
        assert.match(lab, /-v \/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
        assert.match(lab, /--debug$/);
    });
});

describe("DTR API calls from a replica host", () => {
    it("pins the external name to loopback and keeps credentials and body off the command line", () => {
        const line = curlCall({
            externalUrl: "https://dtr.example.com",
            httpsPort: 443,
            method: "PUT",
            path: "/api/v0/x",
            auth: true,
            bodyEnv: "BODY",
            outFile: '"$b"',
        });
        assert.match(line, /^dtr_auth_config \| curl /);
        assert.match(line, /--resolve dtr\.example\.com:443:127\.0\.0\.1/);
        assert.match(line, /-K - /);
        assert.match(
            line,
            /--data-binary @\/dev\/fd\/3 https:\/\/dtr\.example\.com:443\/api\/v0\/x 3<<DTR_HA_BODY\n\$BODY\nDTR_HA_BODY\n$/,
        );
        assert.throws(
            () => curlCall({ externalUrl: "https://d", method: "GET", path: "x", auth: false, outFile: "f" }),
            /must start with \//,
        );
    });
});
