/** A throw-away self-signed TLS pair for the unit tests' loopback HTTPS servers. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function selfSigned(cn = "dtr.test"): { key: string; cert: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-cert-"));
    try {
        execFileSync(
            "openssl",
            // An EC key: made in milliseconds (RSA 2048 takes a noticeable share of a second), and cheaper per handshake.
            [
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                `/CN=${cn}`,
            ].concat(["-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem")]),
            { stdio: "ignore" },
        );
        return { key: fs.readFileSync(path.join(dir, "k.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "c.pem"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
