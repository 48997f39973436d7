/**
 * The stack configuration each backup stores beside its manifest: plain values only, secrets by name. Asserted on the
 * bytes that would be stored (the document's canonical form), for secrets Pulumi marks, dtr-ha's secret keys stored in
 * plain text by mistake, and a section holding a nested secret.
 */
import * as assert from "assert";
import { stackConfigDocument } from "../../components/backup/stack-config";
import { canonicalBytes, stackConfigProblems } from "../../backup-agent/src/stack-config";

describe("the stack configuration stored beside each backup", () => {
    const secretValues = {
        "dtr-ha:ucpPassword": "ucp-pw-6f1c",
        "dtr-ha:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----",
        "dtr-ha:backupSecretKey": "bk-secret-91aa",
        "aws:secretKey": "aws-secret-77d2",
        // A section with a nested secret (`pulumi config set --secret --path`): Pulumi marks the whole key.
        "dtr-ha:storage": '{"mode":"s3","s3":{"bucket":"layers","secretInside":"nested-secret-3b0e"}}',
    };
    const plainSecret = { "dtr-ha:backupAccessKey": "plain-but-secret-key-5e5e" }; // a secret key set without --secret
    const plain = {
        "dtr-ha:cluster": '{"name":"prod","replicas":3}',
        "dtr-ha:backup": '{"mode":"s3","bucket":"dtr-backups","trigger":"t1"}',
        "aws:region": "eu-west-1",
    };
    const all = { ...secretValues, ...plainSecret, ...plain, "dtr-ha:restore": '{"manifestKey":"old"}' };
    const marked = new Set(["dtr-ha:ucpPassword", "dtr-ha:sshPrivateKey", "dtr-ha:backupSecretKey", "aws:secretKey", "dtr-ha:storage"]);
    const doc = stackConfigDocument({ all, isSecret: (k) => marked.has(k), project: "dtr-ha", stack: "prod" });
    const bytes = canonicalBytes(doc).toString("utf8");

    it("holds no secret value, not even a dtr-ha secret stored in plain text or a nested one", () => {
        for (const v of [...Object.values(secretValues), ...Object.values(plainSecret)])
            assert.ok(!bytes.includes(v), `a secret value is in the stored bytes: ${v.slice(0, 12)}...`);
        assert.ok(!bytes.includes("nested-secret"), "the section with a nested secret is a name only");
    });

    it("names exactly the secrets the stack had, and keeps every plain value (other namespaces too)", () => {
        assert.deepStrictEqual(doc.secrets, [...Object.keys(secretValues), ...Object.keys(plainSecret)].sort());
        assert.deepStrictEqual(doc.config, plain);
        assert.strictEqual(doc.sourceStack, "prod");
        assert.deepStrictEqual(stackConfigProblems(JSON.parse(bytes)), []);
    });

    it("leaves out dtr-ha:restore: a rebuild sets its own", () => {
        assert.ok(!("dtr-ha:restore" in doc.config) && !doc.secrets.includes("dtr-ha:restore"));
    });

    it("the same configuration always gives the same bytes (no new backup without a change)", () => {
        const shuffled = Object.fromEntries(Object.entries(all).reverse());
        const again = stackConfigDocument({ all: shuffled, isSecret: (k) => marked.has(k), project: "dtr-ha", stack: "prod" });
        assert.strictEqual(JSON.stringify(again), JSON.stringify(doc));
    });

    it("the agent refuses a document with a value under a secret's name, or keys that are not config keys", () => {
        const bad = { ...doc, config: { ...doc.config, "dtr-ha:ucpPassword": "x" }, secrets: doc.secrets };
        assert.deepStrictEqual(stackConfigProblems(bad), [
            "dtr-ha:ucpPassword is both a plain value and a secret: a secret's value is never stored",
        ]);
        assert.match(stackConfigProblems({ ...doc, config: { "no-namespace": "x" } }).join(), /"no-namespace" is not a namespace:key/);
        assert.match(stackConfigProblems({ ...doc, extra: 1 }).join(), /unknown key "extra"/);
    });
});
