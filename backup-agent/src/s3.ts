// The S3 client, configured from the environment only (secrets never come from argv).
import { S3Client } from "@aws-sdk/client-s3";
import { UsageError } from "./flags";

export interface S3Settings {
    region: string;
    endpoint: string | null;
    forcePathStyle: boolean;
    /** Explicit keys from env; null means the SDK's default chain (env, profile, instance role). */
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}

export function s3SettingsFromEnv(env: NodeJS.ProcessEnv): S3Settings {
    const endpoint = env.S3_ENDPOINT?.trim() || null;
    if (endpoint !== null) {
        let url: URL;
        try {
            url = new URL(endpoint);
        } catch {
            throw new UsageError(`env S3_ENDPOINT '${endpoint}' is not a URL: e.g. http://10.200.0.1:9000, or unset it for AWS`);
        }
        if (url.protocol !== "http:" && url.protocol !== "https:")
            throw new UsageError(`env S3_ENDPOINT '${endpoint}' must be http:// or https://`);
        if (url.username || url.password)
            throw new UsageError(`env S3_ENDPOINT must not carry credentials: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
    }
    const fps = env.S3_FORCE_PATH_STYLE?.trim();
    if (fps !== undefined && fps !== "" && fps !== "true" && fps !== "false") {
        throw new UsageError(`env S3_FORCE_PATH_STYLE '${fps}' must be true or false (true for MinIO and most S3-compatible servers)`);
    }
    // A local S3 server ignores the region but the signer needs one.
    const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || (endpoint !== null ? "us-east-1" : "");
    if (region === "") throw new UsageError("env AWS_REGION is not set: set it to the backup bucket's region, e.g. AWS_REGION=eu-west-1");
    const id = env.AWS_ACCESS_KEY_ID;
    const secret = env.AWS_SECRET_ACCESS_KEY;
    if (Boolean(id) !== Boolean(secret)) {
        throw new UsageError(
            `env ${id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"} is not set while ${id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"} is: set both, or neither to use the instance role`,
        );
    }
    return {
        region,
        endpoint,
        forcePathStyle: fps === "true",
        credentials:
            id && secret
                ? { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
                : null,
    };
}

export function makeS3Client(s: S3Settings): S3Client {
    return new S3Client({
        region: s.region,
        ...(s.endpoint ? { endpoint: s.endpoint } : {}),
        forcePathStyle: s.forcePathStyle,
        ...(s.credentials ? { credentials: s.credentials } : {}),
        maxAttempts: 5,
    });
}
