export * from "./dtr-host";
export * from "./existing-hosts";
export * from "./aws-bootstrap";
export * from "./aws-hosts";
