package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

const local = localCommandType

func TestPluginInfo(t *testing.T) {
	info, err := New(nil).GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.Version != "1.2.1" {
		t.Fatalf("GetPluginInfo = %v, %v; want version 1.2.1", info, err)
	}
}

func TestDiffTriggersReplaceOthersUpdate(t *testing.T) {
	h := newHarness(t)
	base := map[string]any{"create": "echo a", "triggers": []any{"t1", float64(1)}}
	olds := h.check(local, "d", base)
	olds["stdout"] = resource.NewStringProperty("a")

	if d := h.diff(local, olds, h.check(local, "d", base)); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same inputs: %v, want no change", d)
	}
	trig := h.check(local, "d", map[string]any{"create": "echo a", "triggers": []any{"t2", float64(1)}})
	d := h.diff(local, olds, trig)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 1 || d.Replaces[0] != "triggers" ||
		d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("triggers change: %v, want replace on triggers", d)
	}
	noTrig := h.check(local, "d", map[string]any{"create": "echo a"})
	if d := h.diff(local, olds, noTrig); len(d.Replaces) != 1 ||
		d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_DELETE_REPLACE {
		t.Fatalf("triggers removed: %v, want replace", d)
	}
	// With an update command, a trigger change updates instead (the real provider's documented rule).
	withUpdate := h.check(local, "d", map[string]any{"create": "echo a", "update": "echo u", "triggers": []any{"t2", float64(1)}})
	if d := h.diff(local, olds, withUpdate); d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 ||
		d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("triggers change with an update command: %v, want an update without replace", d)
	}
	for k, v := range map[string]any{
		"create": "echo b", "delete": "rm x", "update": "echo u", "stdin": "in",
		"environment": map[string]any{"A": "1"}, "dir": "/tmp",
	} {
		args := map[string]any{"create": "echo a", "triggers": []any{"t1", float64(1)}}
		args[k] = v
		d := h.diff(local, olds, h.check(local, "d", args))
		if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || d.DetailedDiff[k] == nil {
			t.Fatalf("%s change: %v, want an update without replace", k, d)
		}
	}
	// A secret that did not change is no change.
	sec := h.check(local, "d", map[string]any{"create": secret("echo a"), "triggers": []any{"t1", float64(1)}})
	if d := h.diff(local, olds, sec); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("secret-wrapped same value: %v", d)
	}
	// An unknown value is a change.
	unk := h.check(local, "d", map[string]any{"create": resource.MakeComputed(resource.NewStringProperty("")),
		"triggers": []any{"t1", float64(1)}})
	if d := h.diff(local, olds, unk); d.DetailedDiff["create"] == nil {
		t.Fatalf("unknown create: %v, want a change", d)
	}
}

func TestDryRunRunsNothing(t *testing.T) {
	h := newHarness(t)
	marker := filepath.Join(t.TempDir(), "ran")
	in := h.check(local, "dry", map[string]any{"create": "touch " + marker, "update": "touch " + marker})
	_, out, err := h.create(local, "dry", in, true)
	if err != nil {
		t.Fatal(err)
	}
	if !out["stdout"].IsComputed() || !out["stderr"].IsComputed() {
		t.Fatalf("preview outputs %v: stdout/stderr must be unknown", out)
	}
	olds := in.Copy()
	olds["stdout"], olds["stderr"] = resource.NewStringProperty(""), resource.NewStringProperty("")
	if _, err := h.update(local, "dry", olds, in, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a dry run ran the command")
	}
	// The same inputs, not in preview, do run: the marker test above is meaningful.
	h.mustCreate(local, "dry", in)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("real create did not run: %v", err)
	}
}

func TestCheckFailuresNameTheProperty(t *testing.T) {
	h := newHarness(t)
	_, fails := h.checkFails(remote, "bad", map[string]any{
		"connection": map[string]any{"port": float64(70000), "hostKey": "not-a-key", "privateKey": "/root/.ssh/id_rsa"},
		"logging":    "loud",
		"create":     "true",
	})
	want := map[string]string{
		"connection.host": "is required", "connection.port": "70000", "connection.hostKey": "cannot parse",
		"connection.privateKey": "not a path", "logging": `"loud"`,
	}
	got := map[string]string{}
	for _, f := range fails {
		got[f.Property] = f.Reason
	}
	for prop, frag := range want {
		if !strings.Contains(got[prop], frag) {
			t.Errorf("failure for %s = %q, want it to mention %q (all: %v)", prop, got[prop], frag, got)
		}
	}
	if strings.Contains(strings.Join(values(got), " "), "/root/.ssh/id_rsa") {
		t.Error("a failure echoed the privateKey value")
	}
	if _, fails := h.checkFails(remote, "noconn", map[string]any{"create": "true"}); len(fails) != 1 ||
		fails[0].Property != "connection" {
		t.Errorf("missing connection: %v", fails)
	}
	if _, fails := h.checkFails(local, "assets", map[string]any{"assetPaths": []any{"*.txt"}}); len(fails) != 1 ||
		!strings.Contains(fails[0].Reason, "not implemented") {
		t.Errorf("assetPaths: %v", fails)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestSecretsKeptAndNotLeaked(t *testing.T) {
	h := newHarness(t)
	in := h.check(local, "sec", map[string]any{
		"create":      secret("cat; echo $DTR_PW >&2"),
		"stdin":       secret("s3cr3t-stdin"),
		"environment": secret(map[string]any{"DTR_PW": "s3cr3t-env"}),
		"logging":     "none",
	})
	if !in["create"].IsSecret() || !in["stdin"].IsSecret() || !in["environment"].IsSecret() {
		t.Fatalf("Check dropped secretness: %v", in)
	}
	out := h.mustCreate(local, "sec", in)
	for _, k := range []resource.PropertyKey{"create", "stdin", "environment"} {
		if !out[k].IsSecret() {
			t.Errorf("output %s lost its secretness", k)
		}
	}
	// As the real provider (pulumi-go-provider's default): stdout/stderr are not
	// made secret by secret inputs; use additionalSecretOutputs for that.
	if out["stdout"].IsSecret() || str(t, out, "stdout") != "s3cr3t-stdin" || str(t, out, "stderr") != "s3cr3t-env" {
		t.Fatalf("stdout/stderr = %v / %v", out["stdout"], out["stderr"])
	}
	if n := len(h.eng.all()); n != 0 {
		t.Fatalf("logging none sent %d messages", n)
	}
	// A failing secret command is not quoted in the error.
	bad := h.check(local, "sec2", map[string]any{"create": secret("echo token-123 >/dev/null; exit 4")})
	_, _, err := h.create(local, "sec2", bad, false)
	t.Logf("error text: %v", err)
	if err == nil || strings.Contains(err.Error(), "token-123") || !strings.Contains(err.Error(), "exit status 4") {
		t.Fatalf("error = %v: want exit status 4 without the secret command", err)
	}
}

func TestLocalCommand(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	in := h.check(local, "loc", map[string]any{
		"create":      `printf '%s|%s|' "$(pwd)" "$DTR_TEST_L"; cat`,
		"dir":         dir,
		"environment": map[string]any{"DTR_TEST_L": "local-env"},
		"stdin":       "piped",
	})
	out := h.mustCreate(local, "loc", in)
	if got := str(t, out, "stdout"); got != dir+"|local-env|piped" {
		t.Fatalf("stdout %q", got)
	}
	bash := h.check(local, "interp", map[string]any{
		"create": "echo $((6*7))", "interpreter": []any{"/usr/bin/env", "sh", "-c"},
	})
	if got := str(t, h.mustCreate(local, "interp", bash), "stdout"); got != "42" {
		t.Fatalf("interpreter stdout %q", got)
	}
	fail := h.check(local, "lfail", map[string]any{"create": "echo oops >&2; exit 2"})
	if _, _, err := h.create(local, "lfail", fail, false); err == nil ||
		!strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("error = %v", err)
	}
	// Delete with nothing to run succeeds; with a delete command it sees the previous stdout.
	marker := filepath.Join(dir, "gone")
	state := h.mustCreate(local, "ldel", h.check(local, "ldel", map[string]any{
		"create": "echo kept", "delete": `printf '%s' "$PULUMI_COMMAND_STDOUT" > ` + marker,
	}))
	if err := h.delete(local, "ldel", state); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, marker); got != "kept" {
		t.Fatalf("delete saw %q", got)
	}
	noPrev := h.check(local, "noprev", map[string]any{
		"create": "echo x", "addPreviousOutputInEnv": false, "delete": `test -z "$PULUMI_COMMAND_STDOUT"`,
	})
	if err := h.delete(local, "noprev", h.mustCreate(local, "noprev", noPrev)); err != nil {
		t.Fatalf("addPreviousOutputInEnv=false still set PULUMI_COMMAND_STDOUT: %v", err)
	}
}

func TestCancelStopsRunningCommand(t *testing.T) {
	h := newHarness(t)
	in := h.check(local, "slow", map[string]any{"create": "sleep 30; echo late"})
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = h.srv.Cancel(context.Background(), &emptypb.Empty{})
	}()
	start := time.Now()
	_, _, err := h.create(local, "slow", in, false)
	t.Logf("error text: %v", err)
	if err == nil || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("error = %v, want a cancellation", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("cancel took %v", took)
	}
	if _, _, err := h.create(local, "after", in, false); err == nil {
		t.Fatal("operations after Cancel must fail fast")
	}
}

func TestReadReturnsState(t *testing.T) {
	h := newHarness(t)
	state, _ := marshal(pmap(map[string]any{"create": "echo a", "stdout": "a", "stderr": ""}), "t")
	resp, err := h.srv.Read(context.Background(), &pulumirpc.ReadRequest{Id: "x1", Urn: urnOf(local, "r"), Properties: state})
	if err != nil {
		t.Fatal(err)
	}
	props, _ := unmarshal(resp.Properties, "t")
	inputs, _ := unmarshal(resp.Inputs, "t")
	if resp.Id != "x1" || str(t, props, "stdout") != "a" || inputs["stdout"].V != nil || str(t, inputs, "create") != "echo a" {
		t.Fatalf("Read = %v", resp)
	}
}
