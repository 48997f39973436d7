export * from "./agent-env";
export * from "./scripts";
export * from "./probe";
export * from "./backup-bucket";
export * from "./dtr-backup";
export * from "./schedule";
export * from "./swarm-backup";
export * from "./ucp-backup";
