// The rules as plain functions: (stack resources[, config]) -> violations.
export * from "./model";
export { checkReplicaCount, checkReplicaZones, checkClusterStorage } from "./cluster";
export { checkLayerBuckets, checkBackupBuckets, deniesInsecureTransport, scheduleRetentionDays } from "./buckets";
export { checkUnsafeFlags, isProductionStack, unsafeFlagsIn, DEFAULT_PRODUCTION_STACKS, UNSAFE_FLAGS, ProductionConfig } from "./commands";
export { checkAgentImage, registryHost } from "./agent-image";
