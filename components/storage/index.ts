export * from "./settings";
export * from "./layer-bucket";
export * from "./identity";
