// bench/ sits outside this package, so a bare import there would resolve against the repo root's node_modules
// (another SDK copy, no lib-storage). It imports the packages through this module instead.
export { ChecksumAlgorithm, DeleteObjectCommand } from "@aws-sdk/client-s3";
export { Upload } from "@aws-sdk/lib-storage";
export { generateX25519Identity, identityToRecipient } from "age-encryption";
