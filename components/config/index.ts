export * from "./stack-config";
export * from "./read";
