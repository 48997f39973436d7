/**
 * POSIX shell quoting. Every value that reaches a remote shell goes through here, so a replica name or a URL
 * can never be read as shell syntax.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell. Words made only of safe characters are left as they are, for readable logs. */
export function shellQuote(word: string): string {
    if (word.length > 0 && SAFE.test(word)) {
        return word;
    }
    // Inside single quotes nothing is special except the quote itself: close, emit \', reopen.
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into one command line, quoting each. */
export function shellJoin(words: readonly string[]): string {
    return words.map(shellQuote).join(" ");
}

/** A name that is safe to use as an environment variable in `docker run -e NAME` (value taken from the caller). */
export function assertEnvName(name: string): string {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) {
        throw new Error(`environment variable name ${JSON.stringify(name)} is not valid: use A-Z, 0-9 and _`);
    }
    return name;
}
