/** The lab's S3 server (MinIO) through the AWS SDK's S3 client, as any S3 user would reach it. */
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { LabStatus, s3Keys } from "./lab";

/**
 * Keeps the AWS SDK's Node-version notice ("The AWS SDK for JavaScript (v3) ... node >=22", a NodeVersionSupportWarning,
 * a NodeDeprecationWarning in older releases) off the user's terminal: the lab runs on the Node 20 the machine has, and
 * the notice is about the SDK's future releases, not about anything the drill does. Other warnings pass through.
 */
export function muteAwsSdkNodeWarning(proc: NodeJS.Process = process): void {
    // The SDK's own switch (current releases), also for child processes; older releases only know the message.
    proc.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    const marked = proc.emitWarning as typeof proc.emitWarning & { dtrHaMuted?: boolean };
    if (marked.dtrHaMuted) return;
    const original = proc.emitWarning.bind(proc);
    const muted = ((warning: string | Error, ...rest: unknown[]) => {
        const text = typeof warning === "string" ? warning : warning.message;
        if (/The AWS SDK for JavaScript \(v3\)/.test(text) && /node/i.test(text)) return;
        (original as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
    }) as typeof proc.emitWarning & { dtrHaMuted?: boolean };
    muted.dtrHaMuted = true;
    proc.emitWarning = muted;
}

export function labS3(status: LabStatus): S3Client {
    muteAwsSdkNodeWarning();
    const { accessKey, secretKey } = s3Keys(status);
    return new S3Client({
        endpoint: status.s3.endpoint,
        region: status.s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    });
}

/** Every object key under `prefix` (all pages). */
export async function listKeys(s3: S3Client, bucket: string, prefix = ""): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
}
