package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// errHostKeyMismatch marks a dial failure that retrying cannot fix.
var errHostKeyMismatch = errors.New("host key mismatch")

func (c *connection) endpoint() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

func (c *connection) clientConfig() (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{
		User:            c.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // as the real provider when hostKey is unset
		Timeout:         time.Duration(c.PerDialTimeout) * time.Second,
	}
	if c.HostKey != nil {
		want, err := parseHostKey(*c.HostKey)
		if err != nil {
			return nil, fmt.Errorf("connection.hostKey: %w", err)
		}
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(want)
		cfg.HostKeyCallback = func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if bytes.Equal(got.Marshal(), want.Marshal()) {
				return nil
			}
			return fmt.Errorf("%w: %s offered %s %s but connection.hostKey expects %s %s: "+
				"refusing to connect; if the host was rebuilt, update hostKey",
				errHostKeyMismatch, c.endpoint(), got.Type(), ssh.FingerprintSHA256(got),
				want.Type(), ssh.FingerprintSHA256(want))
		}
	}
	if c.PrivateKey != nil {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.PrivateKey), []byte(*c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.PrivateKey))
		}
		if err != nil {
			return nil, fmt.Errorf("connection.privateKey: %w", checkPrivateKey(*c.PrivateKey, c.PrivateKeyPassword))
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if c.Password != nil {
		pw := *c.Password
		cfg.Auth = append(cfg.Auth, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				answers := make([]string, len(qs))
				for i := range qs {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if c.AgentSocketPath != nil {
		sock = *c.AgentSocketPath
	}
	if sock != "" {
		conn, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		case c.AgentSocketPath != nil:
			return nil, fmt.Errorf("connection.agentSocketPath %q: %w", sock, err)
		}
	}
	if len(cfg.Auth) == 0 {
		return nil, fmt.Errorf("connection to %s: no way to authenticate: set connection.privateKey, "+
			"connection.password or connection.agentSocketPath (or SSH_AUTH_SOCK)", c.endpoint())
	}
	return cfg, nil
}

// hostKeyAlgorithms makes the server present the key type we can check.
func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}

// handshake runs the SSH handshake over conn, bounded by the per-dial timeout
// (x/crypto's Timeout only bounds the TCP connect).
func handshake(conn net.Conn, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	if cfg.Timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

type notifier func(msg string)

// withRetry calls f until it succeeds, up to limit failures (-1: no limit),
// with the SDK's default backoff (100ms growing 1.5x to 5s), as the real provider.
func withRetry[T any](ctx context.Context, what string, limit int, note notifier, f func() (T, error)) (T, error) {
	var last error
	var zero T
	ok, val, err := retry.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			v, err := f()
			if err == nil {
				return true, v, nil
			}
			last = err
			if errors.Is(err, errHostKeyMismatch) {
				return true, nil, err
			}
			if limit >= 0 && try+1 > limit {
				return true, nil, fmt.Errorf("%s: after %d failed attempts: %w", what, try+1, err)
			}
			lim := "unlimited"
			if limit >= 0 {
				lim = strconv.Itoa(limit)
			}
			if note != nil {
				note(fmt.Sprintf("%s attempt %d/%s failed (%v): retrying", what, try+1, lim, err))
			}
			return false, nil, nil
		},
	})
	if ok && err == nil {
		return val.(T), nil
	}
	if err == nil {
		err = fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), last)
	}
	return zero, err
}

// dial opens an SSH client to c, through c.Proxy when set.
func (c *connection) dial(ctx context.Context, note notifier) (*ssh.Client, func(), error) {
	cfg, err := c.clientConfig()
	if err != nil {
		return nil, nil, err
	}
	addr := c.endpoint()
	d := net.Dialer{Timeout: cfg.Timeout}
	if c.Proxy == nil {
		cl, err := withRetry(ctx, "dial "+addr, c.DialErrorLimit, note, func() (*ssh.Client, error) {
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return handshake(conn, addr, cfg)
		})
		if err != nil {
			return nil, nil, err
		}
		return cl, func() { _ = cl.Close() }, nil
	}
	proxy, closeProxy, err := c.Proxy.dial(ctx, note)
	if err != nil {
		return nil, nil, fmt.Errorf("connection.proxy: %w", err)
	}
	cl, err := withRetry(ctx, "dial "+addr+" via proxy "+c.Proxy.endpoint(), c.DialErrorLimit, note,
		func() (*ssh.Client, error) {
			conn, err := proxy.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return handshake(conn, addr, cfg)
		})
	if err != nil {
		closeProxy()
		return nil, nil, err
	}
	return cl, func() { _ = cl.Close(); closeProxy() }, nil
}

// runRemote runs cmd over SSH. prevOut/prevErr are the previous run's outputs
// (sent as PULUMI_COMMAND_STDOUT/STDERR when addPreviousOutputInEnv).
func runRemote(ctx context.Context, in remoteInputs, cmd, prevOut, prevErr string, log lineLogger,
	warn notifier) (string, string, error) {
	client, closeAll, err := in.Conn.dial(ctx, warn)
	if err != nil {
		return "", "", err
	}
	defer closeAll()
	sess, err := client.NewSession()
	if err != nil {
		return "", "", fmt.Errorf("opening an SSH session on %s: %w", in.Conn.endpoint(), err)
	}
	defer sess.Close()

	for _, k := range sortedKeys(in.Environment) {
		if err := sess.Setenv(k, in.Environment[k]); err != nil {
			return "", "", fmt.Errorf("could not set environment variable %q on %s (%v): the SSH server "+
				"only accepts variables named by AcceptEnv: add \"AcceptEnv %s\" to its sshd_config, "+
				"or prefix the command with %s=...", k, in.Conn.endpoint(), err, k, k)
		}
	}
	if in.AddPreviousOutputInEnv {
		// Best effort, as the real provider: warn and go on when refused.
		for k, v := range map[string]string{envPrevStdout: prevOut, envPrevStderr: prevErr} {
			if v == "" {
				continue
			}
			if err := sess.Setenv(k, v); err != nil && warn != nil {
				warn(fmt.Sprintf("could not set %s on %s (%v): add \"AcceptEnv %s\" to its sshd_config",
					k, in.Conn.endpoint(), err, k))
			}
		}
	}
	if in.Stdin != nil && *in.Stdin != "" {
		sess.Stdin = strings.NewReader(*in.Stdin)
	}
	capt := newCapture(in.Logging, log)
	sess.Stdout, sess.Stderr = capt.Stdout(), capt.Stderr()

	// Cancel: ask the remote process to stop, then drop the connection.
	stop := context.AfterFunc(ctx, func() {
		_ = sess.Signal(ssh.SIGTERM)
		closeAll()
	})
	err = sess.Run(cmd)
	stop()
	capt.finish()
	if err != nil {
		return "", "", runError(ctx, err, cmd, in.commandSecret, capt)
	}
	out, errOut := capt.results()
	return out, errOut, nil
}
