// Entry point the policy runtime loads: constructing the PolicyPack starts its gRPC server.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./pack";

new PolicyPack("dtr-ha", { policies });
