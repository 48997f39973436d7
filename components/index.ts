/** dtr-ha: a highly available Docker Trusted Registry (MSR 2.x) as Pulumi components. */
export * as dtrCli from "./dtr-cli";
export * from "./hosts";
export * from "./storage";
export * from "./network";
export * from "./cluster";
export * from "./config";
export * from "./backup";
