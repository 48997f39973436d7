import * as pulumi from "@pulumi/pulumi";

/** S3 access for the backup agent on the hosts; omit the keys to use the instance role. */
export interface BackupS3Access {
    region: string;
    /** S3-compatible servers only. */
    endpoint?: string;
    forcePathStyle?: boolean;
    accessKey?: pulumi.Input<string>;
    secretKey?: pulumi.Input<string>;
}

/** The agent's environment: settings in clear, keys as secrets (they reach the host only through SSH's environment). */
export function agentEnvironment(s3: BackupS3Access): Record<string, pulumi.Input<string>> {
    const env: Record<string, pulumi.Input<string>> = { AWS_REGION: s3.region };
    if (s3.endpoint) env.S3_ENDPOINT = s3.endpoint;
    if (s3.forcePathStyle !== undefined) env.S3_FORCE_PATH_STYLE = String(s3.forcePathStyle);
    if (s3.accessKey !== undefined) env.AWS_ACCESS_KEY_ID = pulumi.secret(s3.accessKey);
    if (s3.secretKey !== undefined) env.AWS_SECRET_ACCESS_KEY = pulumi.secret(s3.secretKey);
    return env;
}
