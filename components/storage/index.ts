export * from "./settings";
export * from "./layer-bucket";
