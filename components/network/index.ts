export * from "./subnet";
export * from "./overlay-check";
