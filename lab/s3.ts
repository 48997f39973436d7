/** The lab's S3 server (MinIO) through the AWS SDK's S3 client, as any S3 user would reach it. */
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { LabStatus, s3Keys } from "./lab";

export function labS3(status: LabStatus): S3Client {
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
