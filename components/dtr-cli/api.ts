/**
 * Shell fragments that call DTR's HTTP API from a replica's own host with curl. Credentials come from the
 * environment (UCP_USERNAME / UCP_PASSWORD) and reach curl through its stdin config, never its argv, so `ps` on the
 * host never shows them. Requests go to 127.0.0.1 with the external host name pinned by `--resolve`: the call never
 * leaves the host, which is why `--insecure` is acceptable for DTR's possibly self-signed certificate.
 */
import { SECRET_ENV, externalUrlPort } from "./commands";
import { assertEnvName, shellQuote } from "./shell";

export const USERNAME_ENV = "UCP_USERNAME";

export interface LocalApiTarget {
    /** The cluster's external URL; its host name is pinned to 127.0.0.1. */
    externalUrl: string;
    /** The replica HTTPS port on this host (default 443). */
    httpsPort?: number;
}

function baseUrl(t: LocalApiTarget): { url: string; resolve: string } {
    externalUrlPort(t.externalUrl); // validates
    const host = new URL(t.externalUrl).hostname;
    const port = t.httpsPort ?? 443;
    const bracketed = host.includes(":") ? `[${host}]` : host;
    return { url: `https://${bracketed}:${port}`, resolve: `${host}:${port}:127.0.0.1` };
}

/**
 * Shell lines that define `dtr_auth_config`: prints a curl config with the Basic auth header, from the env. By default
 * the script stops at once when the credentials are not in its environment; `required: false` leaves that to the caller.
 */
export function authConfigFunction(o: { required?: boolean } = {}): string {
    return [
        ...(o.required === false
            ? []
            : [
                  `: "\${${USERNAME_ENV}:?${USERNAME_ENV} must be set}" "\${${SECRET_ENV.ucpPassword}:?${SECRET_ENV.ucpPassword} must be set}"`,
              ]),
        "dtr_auth_config() {",
        `  printf 'header = "Authorization: Basic %s"\\n' "$(printf '%s:%s' "$${USERNAME_ENV}" "$${SECRET_ENV.ucpPassword}" | base64 | tr -d '\\n')"`,
        "}",
    ].join("\n");
}

export interface ApiCall extends LocalApiTarget {
    method: "GET" | "PUT" | "POST" | "DELETE";
    /** API path, e.g. `/api/v0/meta/cluster_status`. */
    path: string;
    /** Send admin credentials. */
    auth: boolean;
    /** Name of an environment variable whose value is the JSON body (may hold secrets, so never inlined). */
    bodyEnv?: string;
    /** Where curl writes the response body: a shell word, e.g. `"$body"` (not quoted again here). */
    outFile: string;
}

/**
 * One curl invocation that prints only the HTTP status code to stdout (the body goes to `outFile`). The caller
 * decides what a status means.
 */
export function curlCall(c: ApiCall): string {
    const { url, resolve } = baseUrl(c);
    if (!c.path.startsWith("/")) throw new Error(`API path ${JSON.stringify(c.path)} must start with /`);
    const words = [
        "curl",
        "-sS",
        "--insecure",
        "--max-time",
        "30",
        "--resolve",
        shellQuote(resolve),
        "-X",
        c.method,
        "-o",
        c.outFile,
        "-w",
        "'%{http_code}'",
    ];
    const config = c.auth ? "-K -" : "";
    if (config) words.push(config);
    if (c.bodyEnv) {
        assertEnvName(c.bodyEnv);
        words.push("-H", "'Content-Type: application/json'", "--data-binary", "@/dev/fd/3");
    }
    words.push(shellQuote(url + c.path));
    let line = words.join(" ");
    if (c.auth) line = `dtr_auth_config | ${line}`;
    if (c.bodyEnv) line = `${line} 3<<DTR_HA_BODY\n$${c.bodyEnv}\nDTR_HA_BODY\n`;
    return line;
}
