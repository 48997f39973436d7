package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
)

const copyType = copyToRemoteType

func fileAsset(t *testing.T, p string) resource.PropertyValue {
	t.Helper()
	a, err := asset.FromPath(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureHash(); err != nil {
		t.Fatal(err)
	}
	return resource.NewAssetProperty(a)
}

func dirArchive(t *testing.T, p string) resource.PropertyValue {
	t.Helper()
	a, err := archive.FromPath(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureHash(); err != nil {
		t.Fatal(err)
	}
	return resource.NewArchiveProperty(a)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCopyToRemote(t *testing.T) {
	sshd := startSSHD(t)
	h := newHarness(t)
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "ca.pem"), "CA-1")
	writeFile(t, filepath.Join(src, "tree", "a.txt"), "A")
	writeFile(t, filepath.Join(src, "tree", "sub", "b.txt"), "B")

	// A file onto a new path, then the same file onto an existing directory.
	args := map[string]any{"connection": sshd.conn(), "source": fileAsset(t, filepath.Join(src, "ca.pem")),
		"remotePath": filepath.Join(dst, "ca-copy.pem")}
	state := h.mustCreateCopy(args)
	if got := readFile(t, filepath.Join(dst, "ca-copy.pem")); got != "CA-1" {
		t.Fatalf("copied %q", got)
	}
	if !state["connection"].IsSecret() || state["stdout"].V != nil {
		t.Fatalf("outputs %v: want the inputs with a secret connection", state)
	}
	into := map[string]any{"connection": sshd.conn(), "source": fileAsset(t, filepath.Join(src, "ca.pem")), "remotePath": dst}
	h.mustCreateCopy(into)
	if got := readFile(t, filepath.Join(dst, "ca.pem")); got != "CA-1" {
		t.Fatalf("file onto a directory: %q", got)
	}

	// Update copies again only when the content (hash) or remotePath changed.
	writeFile(t, filepath.Join(dst, "ca-copy.pem"), "changed on the host")
	same := h.check(copyType, "c", args)
	if _, err := h.update(copyType, "c", state, same, false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "ca-copy.pem")); got != "changed on the host" {
		t.Fatalf("an update with the same source copied again: %q", got)
	}
	writeFile(t, filepath.Join(src, "ca.pem"), "CA-2")
	args["source"] = fileAsset(t, filepath.Join(src, "ca.pem"))
	if d := h.diff(copyType, state, h.check(copyType, "c", args)); d.DetailedDiff["source"] == nil || len(d.Replaces) != 0 {
		t.Fatalf("source change: %v, want an update", d)
	}
	if _, err := h.update(copyType, "c", state, h.check(copyType, "c", args), false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "ca-copy.pem")); got != "CA-2" {
		t.Fatalf("after a source change: %q", got)
	}

	// A directory lands as remotePath/<name>; "dir/" copies its contents.
	h.mustCreateCopy(map[string]any{"connection": sshd.conn(), "source": dirArchive(t, filepath.Join(src, "tree")),
		"remotePath": dst})
	if got := readFile(t, filepath.Join(dst, "tree", "sub", "b.txt")); got != "B" {
		t.Fatalf("directory copy: %q", got)
	}
	flat := filepath.Join(dst, "flat")
	h.mustCreateCopy(map[string]any{"connection": sshd.conn(), "source": dirArchive(t, filepath.Join(src, "tree")+"/"),
		"remotePath": flat})
	if got := readFile(t, filepath.Join(flat, "a.txt")); got != "A" {
		t.Fatalf("dir/ copy: %q", got)
	}

	// A text asset.
	txt, _ := asset.FromText("inline text")
	h.mustCreateCopy(map[string]any{"connection": sshd.conn(), "source": resource.NewAssetProperty(txt),
		"remotePath": filepath.Join(dst, "inline.txt")})
	if got := readFile(t, filepath.Join(dst, "inline.txt")); got != "inline text" {
		t.Fatalf("text asset: %q", got)
	}
}

func TestCopyToRemoteCheck(t *testing.T) {
	h := newHarness(t)
	// Built by hand: asset.FromURI would fetch the URI to hash it.
	uri := &asset.Asset{Sig: asset.AssetSig, URI: "https://example.invalid/x"}
	_, fails := h.checkFails(copyType, "bad", map[string]any{
		"connection": map[string]any{"host": "10.200.0.11", "password": "x"}, "source": resource.NewAssetProperty(uri),
	})
	got := map[string]string{}
	for _, f := range fails {
		got[f.Property] = f.Reason
	}
	if !strings.Contains(got["source"], "path-based") || !strings.Contains(got["remotePath"], "is required") {
		t.Fatalf("failures %v", got)
	}
}

func (h *harness) mustCreateCopy(args map[string]any) resource.PropertyMap {
	h.t.Helper()
	_, out, err := h.create(copyType, "c", h.check(copyType, "c", args), false)
	if err != nil {
		h.t.Fatalf("CopyToRemote create: %v", err)
	}
	return out
}
