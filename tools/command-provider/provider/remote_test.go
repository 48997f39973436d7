package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

const remote = remoteCommandType

func TestRemoteCreateCapturesOutputAndLogs(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	conn := sshd.conn()
	delete(conn, "port") // must default to 22 ...
	in := h.check(remote, "hello", map[string]any{"connection": conn, "create": "echo hello; echo warn >&2"})
	c := plain(in["connection"]).ObjectValue()
	if c["port"].NumberValue() != 22 || c["dialErrorLimit"].NumberValue() != 10 ||
		c["perDialTimeout"].NumberValue() != 15 || !in["addPreviousOutputInEnv"].BoolValue() {
		t.Fatalf("defaults not filled: %v", in)
	}
	in["connection"] = resource.NewObjectProperty(pmap(sshd.conn())) // ... then use the test port
	out := h.mustCreate(remote, "hello", in)
	if got := str(t, out, "stdout"); got != "hello" {
		t.Fatalf("stdout %q, want %q (one trailing newline trimmed)", got, "hello")
	}
	if got := str(t, out, "stderr"); got != "warn" {
		t.Fatalf("stderr %q, want %q", got, "warn")
	}
	if str(t, out, "create") != "echo hello; echo warn >&2" {
		t.Fatalf("inputs not in outputs: %v", out)
	}
	if !out["connection"].IsSecret() {
		t.Fatal("connection output must be secret, as in the real provider")
	}
	logged := strings.Join(h.eng.messages(urnOf(remote, "hello"), pulumirpc.LogSeverity_INFO), "|")
	if !strings.Contains(logged, "hello") || !strings.Contains(logged, "warn") {
		t.Fatalf("engine log for the URN = %q, want the output lines", logged)
	}
}

func TestRemoteEnvironmentStdinAndExitStatus(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	in := h.check(remote, "env", map[string]any{
		"connection":  sshd.conn(),
		"environment": map[string]any{"DTR_TEST_A": "alpha", "DTR_TEST_B": "b e t a"},
		"stdin":       "from-stdin\n",
		"create":      `printf '%s/%s/' "$DTR_TEST_A" "$DTR_TEST_B"; cat`,
	})
	out := h.mustCreate(remote, "env", in)
	if got := str(t, out, "stdout"); got != "alpha/b e t a/from-stdin" {
		t.Fatalf("stdout %q", got)
	}

	in = h.check(remote, "fail", map[string]any{"connection": sshd.conn(), "create": "echo partial; echo boom >&2; exit 3"})
	_, _, err := h.create(remote, "fail", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), "Process exited with status 3") ||
		!strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), `running "echo partial`) {
		t.Fatalf("error = %v, want exit status 3, the command and its output", err)
	}
}

func TestRemoteEnvironmentRefusedNamesVariable(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	in := h.check(remote, "refused", map[string]any{
		"connection": sshd.conn(), "environment": map[string]any{"NOT_ACCEPTED_VAR": "x"}, "create": "true",
	})
	_, _, err := h.create(remote, "refused", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), `"NOT_ACCEPTED_VAR"`) ||
		!strings.Contains(err.Error(), "AcceptEnv NOT_ACCEPTED_VAR") {
		t.Fatalf("error = %v, want one naming the variable and AcceptEnv", err)
	}
}

func TestRemoteHostKey(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	good := sshd.conn()
	good["hostKey"] = sshd.hostPub
	out := h.mustCreate(remote, "good", h.check(remote, "good", map[string]any{"connection": good, "create": "echo ok"}))
	if str(t, out, "stdout") != "ok" {
		t.Fatalf("stdout %v", out["stdout"])
	}

	bad := sshd.conn()
	bad["hostKey"] = sshd.otherPub
	marker := filepath.Join(t.TempDir(), "ran")
	in := h.check(remote, "bad", map[string]any{"connection": bad, "create": "touch " + marker})
	start := time.Now()
	_, _, err := h.create(remote, "bad", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("error = %v, want a host key mismatch refusal", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("a host key mismatch must not be retried; took %v", time.Since(start))
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran despite the host key mismatch")
	}
}

func TestRemoteUpdateAndDeleteSeePreviousOutput(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	dir := t.TempDir()
	delFile := filepath.Join(dir, "deleted")
	args := map[string]any{
		"connection": sshd.conn(),
		"create":     "echo first",
		"update":     `echo "second after $PULUMI_COMMAND_STDOUT"`,
		"delete":     `printf '%s' "$PULUMI_COMMAND_STDOUT" > ` + delFile,
	}
	state := h.mustCreate(remote, "life", h.check(remote, "life", args))
	args["environment"] = map[string]any{"DTR_TEST_X": "1"}
	news := h.check(remote, "life", args)
	if d := h.diff(remote, state, news); d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("env change: diff %v, want an update without replace", d)
	}
	state2, err := h.update(remote, "life", state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, state2, "stdout"); got != "second after first" {
		t.Fatalf("update stdout %q", got)
	}
	if err := h.delete(remote, "life", state2); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, delFile); got != "second after first" {
		t.Fatalf("delete saw PULUMI_COMMAND_STDOUT=%q", got)
	}
}

func TestRemoteUpdateWithoutUpdateRerunsCreate(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	args := map[string]any{"connection": sshd.conn(), "create": "echo v1"}
	state := h.mustCreate(remote, "rerun", h.check(remote, "rerun", args))
	args["create"] = "echo v2"
	out, err := h.update(remote, "rerun", state, h.check(remote, "rerun", args), false)
	if err != nil || str(t, out, "stdout") != "v2" {
		t.Fatalf("update = %v, %v; want create re-run", out, err)
	}
}

func TestRemoteLoggingModes(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	for mode, want := range map[string][]string{
		"none":            nil,
		"stdout":          {"out-line"},
		"stderr":          {"err-line"},
		"stdoutAndStderr": {"err-line", "out-line"},
	} {
		name := "log-" + mode
		in := h.check(remote, name, map[string]any{
			"connection": sshd.conn(), "logging": mode, "create": "echo out-line; echo err-line >&2",
		})
		out := h.mustCreate(remote, name, in)
		if str(t, out, "stdout") != "out-line" || str(t, out, "stderr") != "err-line" {
			t.Fatalf("%s: outputs must be captured whatever the logging: %v", mode, out)
		}
		var got []string
		for _, l := range h.eng.all() {
			if l.Urn == urnOf(remote, name) {
				got = append(got, l.Message)
			}
		}
		if strings.Join(sorted(got), ",") != strings.Join(want, ",") {
			t.Fatalf("logging %s: engine got %q, want %q", mode, got, want)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRemoteDialRetriesThenFails(t *testing.T) {
	h := newHarness(t)
	conn := map[string]any{"host": "127.0.0.1", "port": float64(freePort(t)), "user": "root",
		"password": "x", "dialErrorLimit": float64(2), "perDialTimeout": float64(1)}
	in := h.check(remote, "nodial", map[string]any{"connection": conn, "create": "true"})
	_, _, err := h.create(remote, "nodial", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), "after 3 failed attempts") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error = %v, want 3 attempts (limit 2) ending in connection refused", err)
	}
	retries := h.eng.messages(urnOf(remote, "nodial"), pulumirpc.LogSeverity_WARNING)
	if len(retries) != 2 {
		t.Fatalf("want 2 retry notices, got %q", retries)
	}
}

func TestRemoteThroughProxy(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	conn := sshd.conn()
	conn["proxy"] = sshd.conn()
	in := h.check(remote, "proxied", map[string]any{"connection": conn, "create": "echo via-proxy"})
	if p := plain(in["connection"]).ObjectValue()["proxy"].ObjectValue(); p["dialErrorLimit"].NumberValue() != 10 {
		t.Fatalf("proxy defaults not filled: %v", p)
	}
	out := h.mustCreate(remote, "proxied", in)
	if str(t, out, "stdout") != "via-proxy" {
		t.Fatalf("stdout %v", out["stdout"])
	}
}

// Cancel returns at once and drops the SSH connection. The provider also asks
// sshd to SIGTERM the command, but OpenSSH refuses signal requests in root
// sessions ("session signalling requires privilege separation"), so as with
// the real provider a cancelled remote command may finish on the host.
func TestRemoteCancelReturnsPromptly(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	in := h.check(remote, "slow", map[string]any{"connection": sshd.conn(), "create": "sleep 5"})
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, _ = h.srv.Cancel(context.Background(), &emptypb.Empty{})
	}()
	start := time.Now()
	_, _, err := h.create(remote, "slow", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), "cancelled") || time.Since(start) > 2*time.Second {
		t.Fatalf("error = %v after %v, want a prompt cancellation", err, time.Since(start))
	}
}

func TestRemoteUnknownConnectionInPreview(t *testing.T) {
	h := newHarness(t)
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	in, fails := h.checkFails(remote, "later", map[string]any{"connection": unknown, "create": "true"})
	if len(fails) != 0 {
		t.Fatalf("an unknown connection is fine at preview: %v", fails)
	}
	_, out, err := h.create(remote, "later", in, true)
	if err != nil || !out["connection"].IsComputed() || !out["stdout"].IsComputed() {
		t.Fatalf("preview = %v, %v", out, err)
	}
	in, fails = h.checkFails(remote, "half", map[string]any{
		"connection": map[string]any{"host": unknown, "privateKey": unknown}, "create": "true",
	})
	if len(fails) != 0 {
		t.Fatalf("unknown host/key are fine at preview: %v", fails)
	}
}

func TestRemoteAuthVariants(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	dir := t.TempDir()

	// An encrypted key needs privateKeyPassword; Check says so without echoing the key.
	enc := filepath.Join(dir, "enc")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "pass-phrase", "-f", enc).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	appendFile(t, filepath.Join(sshd.clientDir, "authorized_keys"), readFile(t, enc+".pub"))
	conn := sshd.conn()
	conn["privateKey"] = readFile(t, enc)
	if _, fails := h.checkFails(remote, "enc", map[string]any{"connection": conn, "create": "true"}); len(fails) != 1 ||
		!strings.Contains(fails[0].Reason, "privateKeyPassword") {
		t.Fatalf("encrypted key without password: %v", fails)
	}
	conn["privateKeyPassword"] = "pass-phrase"
	if out := h.mustCreate(remote, "enc", h.check(remote, "enc", map[string]any{"connection": conn, "create": "echo enc"})); str(t, out, "stdout") != "enc" {
		t.Fatalf("encrypted key: %v", out["stdout"])
	}

	// An SSH agent at agentSocketPath, with no key in the inputs.
	sock := filepath.Join(dir, "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", filepath.Join(sshd.clientDir, "client"))
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	viaAgent := map[string]any{"host": "127.0.0.1", "port": float64(sshd.port), "user": sshd.user, "agentSocketPath": sock}
	if out := h.mustCreate(remote, "agent", h.check(remote, "agent", map[string]any{"connection": viaAgent, "create": "echo agent"})); str(t, out, "stdout") != "agent" {
		t.Fatalf("agent: %v", out["stdout"])
	}

	// hostKey may also be given as a known_hosts line.
	kh := sshd.conn()
	kh["hostKey"] = fmt.Sprintf("[127.0.0.1]:%d %s", sshd.port, sshd.hostPub)
	if out := h.mustCreate(remote, "kh", h.check(remote, "kh", map[string]any{"connection": kh, "create": "echo kh"})); str(t, out, "stdout") != "kh" {
		t.Fatalf("known_hosts hostKey: %v", out["stdout"])
	}
}

func appendFile(t *testing.T, p, content string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}
