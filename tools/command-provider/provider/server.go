// Package provider is a stand-in for the pulumi-command provider (v1.2.1) that
// implements command:remote:Command and command:local:Command over the Pulumi
// resource provider gRPC protocol.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/urn"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is the @pulumi/command version this stand-in answers for.
const Version = "1.2.1"

// Server implements pulumirpc.ResourceProviderServer.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer
	host   Host
	ctx    context.Context // cancelled by the engine's Cancel call
	cancel context.CancelCauseFunc
}

// New returns a provider server; host may be nil (nothing is logged then).
func New(host Host) *Server {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Server{host: host, ctx: ctx, cancel: cancel}
}

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *Server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *Server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// Cancel stops every running command and makes later operations fail fast.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.cancel(errors.New("the engine cancelled the operation"))
	return &emptypb.Empty{}, nil
}

func resourceType(typ, u string) (string, error) {
	if typ == "" && urn.URN(u).IsValid() {
		typ = string(urn.URN(u).Type())
	}
	if _, ok := inputKeys[typ]; !ok {
		return "", status.Errorf(codes.InvalidArgument, "resource type %q is not implemented by the lab's "+
			"stand-in command provider: it has %s, %s and %s", typ, remoteCommandType, localCommandType,
			copyToRemoteType)
	}
	return typ, nil
}

func resourceName(name, u string) string {
	if name == "" && urn.URN(u).IsValid() {
		return urn.URN(u).Name()
	}
	return name
}

func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ, err := resourceType(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	applyDefaults(typ, news)
	var fails []failure
	switch typ {
	case remoteCommandType:
		_, fails = readRemote(news)
	case localCommandType:
		_, fails = readLocal(news)
	default:
		_, fails = readCopy(news)
	}
	inputs, err := marshal(news, "checked")
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: inputs}
	for _, f := range fails {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: f.path, Reason: f.reason})
	}
	return resp, nil
}

// Diff: a change to triggers replaces the resource unless an `update` command is given (then it is an update, as the
// real provider documents: "If the update command was provided the resource will be updated, otherwise it will be
// replaced"); any other input change is an update.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	typ, err := resourceType(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	if oi, err := unmarshal(req.GetOldInputs(), "oldInputs"); err == nil && len(oi) > 0 {
		olds = oi
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignored[k] = true
	}
	resp := &pulumirpc.DiffResponse{HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range inputKeys[typ] {
		if ignored[k] {
			continue
		}
		ov, hasOld := olds[resource.PropertyKey(k)]
		nv, hasNew := news[resource.PropertyKey(k)]
		hasOld = hasOld && !ov.IsNull()
		hasNew = hasNew && !nv.IsNull()
		if !hasOld && !hasNew {
			continue
		}
		if hasOld && hasNew && !nv.ContainsUnknowns() && plain(ov).DeepEquals(plain(nv)) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if k == "triggers" && !hasUpdateCommand(news) {
			kind = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
				pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
				pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
				pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
			}[kind]
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Diffs = append(resp.Diffs, k)
	}
	sort.Strings(resp.Diffs)
	resp.Changes = pulumirpc.DiffResponse_DIFF_NONE
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

func hasUpdateCommand(news resource.PropertyMap) bool {
	u, ok := news["update"]
	return ok && !u.IsNull() && (!u.IsString() || u.StringValue() != "")
}

// opCtx joins the request's context with the provider-wide cancel and the operation timeout.
func (s *Server) opCtx(ctx context.Context, timeoutSec float64) (context.Context, func(), error) {
	if s.ctx.Err() != nil {
		return nil, nil, fmt.Errorf("not running: %v", context.Cause(s.ctx))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
	done := func() { stop(); cancel(nil) }
	if timeoutSec > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeoutCause(ctx, time.Duration(timeoutSec*float64(time.Second)),
			fmt.Errorf("the custom timeout of %gs ran out", timeoutSec))
		prev := done
		done = func() { cancelT(); prev() }
	}
	return ctx, done, nil
}

func (s *Server) logger(ctx context.Context, u string) lineLogger {
	if s.host == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	return func(line string) { _ = s.host.Log(ctx, pulumirpc.LogSeverity_INFO, u, line, false) }
}

func (s *Server) warner(ctx context.Context, u string) notifier {
	if s.host == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	return func(msg string) { _ = s.host.Log(ctx, pulumirpc.LogSeverity_WARNING, u, msg, true) }
}

// pick chooses the command an operation runs; nil means nothing to run.
type pick func(c commonInputs) *string

func onCreate(c commonInputs) *string { return c.Create }
func onDelete(c commonInputs) *string { return c.Delete }
func onUpdate(c commonInputs) *string {
	if c.Update != nil {
		return c.Update
	}
	return c.Create
}

// execute runs the command chosen by which for the resource's inputs m.
// ran is false when there was nothing to run.
func (s *Server) execute(ctx context.Context, typ, u string, m resource.PropertyMap, which pick,
	prevOut, prevErr string) (stdout, stderr string, ran bool, err error) {
	var fails []failure
	var cmd *string
	if typ == remoteCommandType {
		var in remoteInputs
		in, fails = readRemote(m)
		if cmd = which(in.commonInputs); cmd != nil && len(fails) == 0 {
			stdout, stderr, err = runRemote(ctx, in, *cmd, prevOut, prevErr, s.logger(ctx, u), s.warner(ctx, u))
		}
	} else {
		var in localInputs
		in, fails = readLocal(m)
		if cmd = which(in.commonInputs); cmd != nil && len(fails) == 0 {
			stdout, stderr, err = runLocal(ctx, in, *cmd, prevOut, prevErr, s.logger(ctx, u))
		}
	}
	if len(fails) > 0 {
		msgs := make([]string, len(fails))
		for i, f := range fails {
			msgs[i] = f.path + ": " + f.reason
		}
		return "", "", false, errors.New("invalid inputs: " + strings.Join(msgs, "; "))
	}
	return stdout, stderr, cmd != nil, err
}

// outputs are the inputs as given (secret inputs stay secret, connection is
// always secret as in the real provider) plus stdout and stderr.
func outputs(in resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := in.Copy()
	if c, ok := out["connection"]; ok && !c.IsSecret() && !c.IsComputed() {
		out["connection"] = resource.MakeSecret(c)
	}
	out["stdout"], out["stderr"] = stdout, stderr
	return out
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	typ, err := resourceType(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	in, err := unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	if typ == copyToRemoteType {
		return s.createCopy(ctx, req, in)
	}
	id, err := resource.NewUniqueHex(resourceName(req.GetName(), req.GetUrn()), 8, 0)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		// Dry run: run nothing; stdout/stderr are not known yet.
		props, err := marshal(outputs(in, unknownString(), unknownString()), "preview")
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
	}
	ctx, done, err := s.opCtx(ctx, req.GetTimeout())
	if err != nil {
		return nil, err
	}
	defer done()
	stdout, stderr, _, err := s.execute(ctx, typ, req.GetUrn(), in, onCreate, "", "")
	if err != nil {
		return nil, err
	}
	props, err := marshal(outputs(in, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)), "outputs")
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

func prevOutputs(state resource.PropertyMap) (string, string) {
	get := func(k resource.PropertyKey) string {
		if v := plain(state[k]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	return get("stdout"), get("stderr")
}

func (s *Server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	typ, err := resourceType(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	if typ == copyToRemoteType {
		return s.updateCopy(ctx, req, olds, news)
	}
	if req.GetPreview() {
		// Dry run: run nothing; the command will run again, so its outputs are unknown.
		props, err := marshal(outputs(news, unknownString(), unknownString()), "preview")
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	ctx, done, err := s.opCtx(ctx, req.GetTimeout())
	if err != nil {
		return nil, err
	}
	defer done()
	prevOut, prevErr := prevOutputs(olds)
	stdout, stderr, ran, err := s.execute(ctx, typ, req.GetUrn(), news, onUpdate, prevOut, prevErr)
	if err != nil {
		return nil, err
	}
	if !ran {
		stdout, stderr = prevOut, prevErr
	}
	props, err := marshal(outputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)), "outputs")
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	typ, err := resourceType(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	if typ == copyToRemoteType {
		return &emptypb.Empty{}, nil // as the real one: copied files stay
	}
	state, err := unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	ctx, done, err := s.opCtx(ctx, req.GetTimeout())
	if err != nil {
		return nil, err
	}
	defer done()
	prevOut, prevErr := prevOutputs(state)
	if _, _, _, err := s.execute(ctx, typ, req.GetUrn(), state, onDelete, prevOut, prevErr); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read returns the state as it is: a command has nothing to read back.
func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	inputs := req.GetInputs()
	if len(inputs.GetFields()) == 0 && req.GetProperties() != nil {
		state, err := unmarshal(req.GetProperties(), "properties")
		if err != nil {
			return nil, err
		}
		delete(state, "stdout")
		delete(state, "stderr")
		if inputs, err = marshal(state, "inputs"); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
}

func (s *Server) runCopy(ctx context.Context, u string, m resource.PropertyMap, timeout float64) error {
	in, fails := readCopy(m)
	if len(fails) > 0 {
		return errors.New("invalid inputs: " + fails[0].path + ": " + fails[0].reason)
	}
	ctx, done, err := s.opCtx(ctx, timeout)
	if err != nil {
		return err
	}
	defer done()
	return copyToRemote(ctx, in, s.warner(ctx, u))
}

// copyOutputs are the inputs, with connection secret.
func copyOutputs(in resource.PropertyMap) resource.PropertyMap {
	out := outputs(in, resource.PropertyValue{}, resource.PropertyValue{})
	delete(out, "stdout")
	delete(out, "stderr")
	return out
}

func (s *Server) createCopy(ctx context.Context, req *pulumirpc.CreateRequest,
	in resource.PropertyMap) (*pulumirpc.CreateResponse, error) {
	id, err := resource.NewUniqueHex("", 8, 0)
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() {
		if err := s.runCopy(ctx, req.GetUrn(), in, req.GetTimeout()); err != nil {
			return nil, err
		}
	}
	props, err := marshal(copyOutputs(in), "outputs")
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// updateCopy copies again only when the source's hash or the remote path changed.
func (s *Server) updateCopy(ctx context.Context, req *pulumirpc.UpdateRequest,
	olds, news resource.PropertyMap) (*pulumirpc.UpdateResponse, error) {
	if !req.GetPreview() {
		o, _ := readCopy(olds)
		n, _ := readCopy(news)
		if o.Hash != n.Hash || o.Hash == "" || o.RemotePath != n.RemotePath {
			if err := s.runCopy(ctx, req.GetUrn(), news, req.GetTimeout()); err != nil {
				return nil, err
			}
		}
	}
	props, err := marshal(copyOutputs(news), "outputs")
	return &pulumirpc.UpdateResponse{Properties: props}, err
}
