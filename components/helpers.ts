/**
 * dtr-ha's pure helpers (`import ... from "dtr-ha/helpers"`): functions without Pulumi resources or I/O, usable without
 * the engine — DTR command lines and API calls, replica topology and ids, overlay subnet checks, DTR's storage settings
 * document and the stack configuration's validation.
 */
export * as dtrCli from "./dtr-cli";
export * from "./cluster/topology";
export * from "./network/subnet";
export * from "./storage/settings";
export * from "./config/stack-config";
