package provider

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Host is the part of the engine the provider talks back to: its log.
type Host interface {
	Log(ctx context.Context, sev pulumirpc.LogSeverity, urn, msg string, ephemeral bool) error
}

// EngineHost sends log messages to the engine's gRPC Engine service.
type EngineHost struct {
	conn   *grpc.ClientConn
	client pulumirpc.EngineClient
}

// NewEngineHost connects to the engine address the CLI passes as the plugin's argument.
func NewEngineHost(addr string) (*EngineHost, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, fmt.Errorf("connecting to the engine at %s: %w", addr, err)
	}
	return &EngineHost{conn: conn, client: pulumirpc.NewEngineClient(conn)}, nil
}

func (h *EngineHost) Log(ctx context.Context, sev pulumirpc.LogSeverity, urn, msg string, ephemeral bool) error {
	_, err := h.client.Log(ctx, &pulumirpc.LogRequest{Severity: sev, Message: msg, Urn: urn, Ephemeral: ephemeral})
	return err
}

func (h *EngineHost) Close() error { return h.conn.Close() }
