export * from "./commands";
export { shellJoin, assertEnvName } from "./shell";
export * from "./api";
