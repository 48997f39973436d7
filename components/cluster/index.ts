export * from "./topology";
export * from "./health-gate";
export * from "./dtr-cluster";
