package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

type engine struct {
	pulumirpc.UnimplementedEngineServer
	logs chan *pulumirpc.LogRequest
}

func (e *engine) Log(_ context.Context, r *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.logs <- r
	return &emptypb.Empty{}, nil
}

// TestPluginProcess runs the built plugin the way the engine does: engine
// address as argument, port read from stdout, gRPC calls, SIGINT to stop.
func TestPluginProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pulumi-resource-command")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	eng := &engine{logs: make(chan *pulumirpc.LogRequest, 16)}
	pulumirpc.RegisterEngineServer(gs, eng)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()

	cmd := exec.Command(bin, "-v=9", "--logtostderr", lis.Addr().String())
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the port: %v", err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(line), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	prov := pulumirpc.NewResourceProviderClient(conn)
	ctx := context.Background()
	info, err := prov.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil || info.Version != "1.2.1" {
		t.Fatalf("GetPluginInfo = %v, %v", info, err)
	}
	news, _ := plugin.MarshalProperties(resource.NewPropertyMapFromMap(map[string]any{"create": "echo over-grpc"}),
		plugin.MarshalOptions{KeepSecrets: true})
	const urn = "urn:pulumi:s::p::command:local:Command::c"
	checked, err := prov.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: news})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("Check = %v, %v", checked, err)
	}
	created, err := prov.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: checked.Inputs})
	if err != nil || created.Properties.Fields["stdout"].GetStringValue() != "over-grpc" {
		t.Fatalf("Create = %v, %v", created, err)
	}
	select {
	case l := <-eng.logs:
		if l.Message != "over-grpc" || l.Urn != urn {
			t.Fatalf("engine log %v", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plugin did not log the output line to the engine")
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("plugin exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("plugin did not stop on SIGINT")
	}
}
