// Command pulumi-resource-command is the lab's stand-in for the Pulumi command
// provider plugin (see ../../README.md). The engine starts it with its own
// gRPC address as the only argument and reads the port we serve on from stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"github.com/dtr-ha/dtr-ha/tools/command-provider/provider"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

func serve() error {
	// The engine may pass --tracing, --logtostderr and -v=N; accept them (glog,
	// linked in through the SDK, already defines the last two).
	for name, usage := range map[string]string{"tracing": "ignored: tracing endpoint"} {
		if flag.Lookup(name) == nil {
			flag.String(name, "", usage)
		}
	}
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "ignored")
	}
	if flag.Lookup("v") == nil {
		flag.String("v", "", "ignored")
	}
	flag.Parse()

	// The engine sends SIGINT when it is done with the plugin.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var host provider.Host
	switch args := flag.Args(); len(args) {
	case 0: // attach mode: nobody to log to
	case 1:
		eh, err := provider.NewEngineHost(args[0])
		if err != nil {
			return err
		}
		defer eh.Close()
		host = eh
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, args[0], 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("starting the engine health check: %w", err)
		}
	default:
		return fmt.Errorf("want at most one argument (the engine address), got %q", args)
	}

	cancelCh := make(chan bool)
	go func() { <-ctx.Done(); close(cancelCh) }()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelCh,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, provider.New(host))
			return nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}
