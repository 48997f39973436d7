package provider

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeEngine is a real gRPC Engine service that records what the provider logs.
type fakeEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
}

func (e *fakeEngine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

func (e *fakeEngine) messages(urn string, sev pulumirpc.LogSeverity) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, l := range e.logs {
		if l.Urn == urn && l.Severity == sev {
			out = append(out, l.Message)
		}
	}
	return out
}

func (e *fakeEngine) all() []*pulumirpc.LogRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*pulumirpc.LogRequest(nil), e.logs...)
}

type harness struct {
	t   *testing.T
	srv *Server
	eng *fakeEngine
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	eng := &fakeEngine{}
	pulumirpc.RegisterEngineServer(gs, eng)
	go func() { _ = gs.Serve(lis) }()
	host, err := NewEngineHost(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close(); gs.Stop() })
	srv := New(host)
	if resp, err := srv.Configure(context.Background(), &pulumirpc.ConfigureRequest{AcceptSecrets: true}); err != nil ||
		!resp.AcceptSecrets || !resp.SupportsPreview {
		t.Fatalf("Configure: %v %v", resp, err)
	}
	return &harness{t: t, srv: srv, eng: eng}
}

func urnOf(typ, name string) string { return "urn:pulumi:test::lab::" + typ + "::" + name }

func pmap(m map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMapRepl(m, nil, func(v any) (resource.PropertyValue, bool) {
		pv, ok := v.(resource.PropertyValue)
		return pv, ok
	})
}

func secret(v any) resource.PropertyValue {
	return resource.MakeSecret(resource.NewPropertyValue(v))
}

// check runs Check and fails the test on any failure.
func (h *harness) check(typ, name string, news map[string]any) resource.PropertyMap {
	h.t.Helper()
	in, fails := h.checkFails(typ, name, news)
	if len(fails) > 0 {
		h.t.Fatalf("Check failures: %v", fails)
	}
	return in
}

func (h *harness) checkFails(typ, name string, news map[string]any) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	h.t.Helper()
	s, err := marshal(pmap(news), "test")
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.srv.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf(typ, name), Type: typ, Name: name, News: s})
	if err != nil {
		h.t.Fatalf("Check: %v", err)
	}
	in, err := unmarshal(resp.Inputs, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return in, resp.Failures
}

func (h *harness) create(typ, name string, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	h.t.Helper()
	s, err := marshal(in, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.srv.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urnOf(typ, name), Type: typ, Name: name, Properties: s, Preview: preview,
	})
	if err != nil {
		return "", nil, err
	}
	out, err := unmarshal(resp.Properties, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Id, out, nil
}

func (h *harness) mustCreate(typ, name string, in resource.PropertyMap) resource.PropertyMap {
	h.t.Helper()
	id, out, err := h.create(typ, name, in, false)
	if err != nil {
		h.t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(id, name) || len(id) != len(name)+8 {
		h.t.Fatalf("id %q: want %q + 8 hex digits", id, name)
	}
	return out
}

func (h *harness) update(typ, name string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	h.t.Helper()
	o, _ := marshal(olds, "test")
	n, _ := marshal(news, "test")
	resp, err := h.srv.Update(context.Background(), &pulumirpc.UpdateRequest{
		Id: name + "00000000", Urn: urnOf(typ, name), Type: typ, Name: name, Olds: o, News: n, Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	out, err := unmarshal(resp.Properties, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return out, nil
}

func (h *harness) delete(typ, name string, state resource.PropertyMap) error {
	h.t.Helper()
	s, _ := marshal(state, "test")
	_, err := h.srv.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Id: name + "00000000", Urn: urnOf(typ, name), Type: typ, Name: name, Properties: s,
	})
	return err
}

func (h *harness) diff(typ string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	h.t.Helper()
	o, _ := marshal(olds, "test")
	n, _ := marshal(news, "test")
	resp, err := h.srv.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urnOf(typ, "d"), Type: typ, Olds: o, News: n,
	})
	if err != nil {
		h.t.Fatalf("Diff: %v", err)
	}
	return resp
}

func str(t *testing.T, m resource.PropertyMap, k string) string {
	t.Helper()
	v := plain(m[resource.PropertyKey(k)])
	if !v.IsString() {
		t.Fatalf("%s: want a string, got %v", k, m[resource.PropertyKey(k)])
	}
	return v.StringValue()
}
