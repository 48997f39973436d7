// A minimal S3 endpoint for unit tests: path-style PUT/GET/DELETE of objects in one bucket, SigV4-checked with
// the one key pair it knows, S3's XML errors otherwise (InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket).
import http from "node:http";
import { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { signV4 } from "../../src/s3check";

export class FakeS3 {
    objects = new Map<string, Buffer>();
    requests: string[] = [];
    server!: http.Server;
    endpoint = "";
    constructor(
        public bucket: string,
        public accessKey: string,
        public secretKey: string,
        public region = "us-east-1",
    ) {}

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
        });
        await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
        this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        return this;
    }

    stop(): void {
        this.server.close();
        this.server.closeAllConnections();
    }

    private error(res: http.ServerResponse, status: number, code: string, message: string): void {
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    }

    private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
        const path = req.url ?? "/";
        this.requests.push(`${req.method} ${path}`);
        const auth = String(req.headers.authorization ?? "");
        const m =
            /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/s3\/aws4_request,SignedHeaders=([^,]+),Signature=[0-9a-f]{64}$/.exec(
                auth,
            );
        if (!m) return this.error(res, 403, "AccessDenied", "Access Denied.");
        if (m[1] !== this.accessKey)
            return this.error(res, 403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.");
        const signed = Object.fromEntries(m[3].split(";").map((h) => [h, String(req.headers[h] ?? "")]));
        const hash = createHash("sha256").update(body).digest("hex");
        if (req.headers["x-amz-content-sha256"] !== hash) return this.error(res, 400, "XAmzContentSHA256Mismatch", "hash mismatch");
        const want = signV4({
            method: req.method!,
            path,
            headers: signed,
            payloadHash: hash,
            region: m[2],
            accessKey: m[1],
            secretKey: this.secretKey,
        });
        if (want !== auth)
            return this.error(
                res,
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        const [, bucket, ...rest] = path.split("/");
        if (bucket !== this.bucket) return this.error(res, 404, "NoSuchBucket", "The specified bucket does not exist");
        const key = rest.join("/");
        if (req.method === "PUT") {
            this.objects.set(key, body);
            res.writeHead(200);
            return void res.end();
        }
        if (req.method === "GET") {
            const o = this.objects.get(key);
            if (!o) return this.error(res, 404, "NoSuchKey", "The specified key does not exist.");
            res.writeHead(200);
            return void res.end(o);
        }
        if (req.method === "DELETE") {
            this.objects.delete(key);
            res.writeHead(204);
            return void res.end();
        }
        this.error(res, 405, "MethodNotAllowed", "method not allowed");
    }
}
