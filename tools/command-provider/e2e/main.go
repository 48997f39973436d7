// Command e2e is the manual end-to-end check of the stand-in command provider
// under the real Pulumi engine: an inline Automation API program registers
// command:local:Command and command:remote:Command (against a throwaway sshd on
// 127.0.0.1) and goes through up, preview, update, replace and destroy.
//
//	go run ./e2e [-pulumi-root ~/.cache/dtr-ha/toolchain/pulumi-v3.248.0]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

type command struct {
	pulumi.CustomResourceState
	Stdout pulumi.StringOutput `pulumi:"stdout"`
	Stderr pulumi.StringOutput `pulumi:"stderr"`
}

func main() {
	home, _ := os.UserHomeDir()
	root := flag.String("pulumi-root", filepath.Join(home, ".cache/dtr-ha/toolchain/pulumi-v3.248.0"),
		"directory holding bin/pulumi")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "E2E FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("E2E OK")
}

func must(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func run(root string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "cmdprov-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "pulumi-resource-command"),
		"./cmd/pulumi-resource-command").CombinedOutput(); err != nil {
		return fmt.Errorf("building the plugin: %v\n%s", err, out)
	}
	port, clientKey, stopSSHD, err := startSSHD(tmp)
	if err != nil {
		return err
	}
	defer stopSSHD()
	u, _ := user.Current()
	deleted := filepath.Join(tmp, "deleted")
	runs := filepath.Join(tmp, "runs") // one line per real run of the local command
	countRuns := func() int { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run\n") }

	srcFile, copied := filepath.Join(tmp, "src.txt"), filepath.Join(tmp, "copied.txt")
	_ = os.WriteFile(srcFile, []byte("v1"), 0o600)
	phase := 1
	program := func(pctx *pulumi.Context) error {
		var loc command
		if err := pctx.RegisterResource("command:local:Command", "hello", pulumi.Map{
			"create": pulumi.Sprintf("echo hello-%d; echo run >> %s", min(phase, 2), runs),
		}, &loc, pulumi.Version("1.2.1")); err != nil {
			return err
		}
		var rem command
		trigger := "a"
		if phase >= 3 {
			trigger = "b"
		}
		if err := pctx.RegisterResource("command:remote:Command", "remote", pulumi.Map{
			"connection": pulumi.ToSecret(pulumi.Map{
				"host": pulumi.String("127.0.0.1"), "port": pulumi.Float64(port),
				"user": pulumi.String(u.Username), "privateKey": pulumi.String(clientKey),
			}),
			"environment": pulumi.ToSecret(pulumi.StringMap{"DTR_TEST_V": pulumi.String("env-value")}),
			"stdin":       pulumi.ToSecret(pulumi.String("stdin-value")),
			"create":      pulumi.String(`echo "remote $DTR_TEST_V $(cat)"`),
			"delete":      pulumi.String(`printf '%s' "$PULUMI_COMMAND_STDOUT" >> ` + deleted),
			"triggers":    pulumi.Array{pulumi.String(trigger)},
		}, &rem, pulumi.Version("1.2.1")); err != nil {
			return err
		}
		var cp pulumi.CustomResourceState
		if err := pctx.RegisterResource("command:remote:CopyToRemote", "copy", pulumi.Map{
			"connection": pulumi.ToSecret(pulumi.Map{
				"host": pulumi.String("127.0.0.1"), "port": pulumi.Float64(port),
				"user": pulumi.String(u.Username), "privateKey": pulumi.String(clientKey),
			}),
			"source":     pulumi.NewFileAsset(srcFile),
			"remotePath": pulumi.String(copied),
		}, &cp, pulumi.Version("1.2.1")); err != nil {
			return err
		}
		pctx.Export("local", loc.Stdout)
		pctx.Export("remote", rem.Stdout)
		return nil
	}

	pcmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, SkipVersionCheck: true})
	if err != nil {
		return fmt.Errorf("pulumi CLI under %s: %w", root, err)
	}
	env := map[string]string{
		"PATH":                     bin + ":" + os.Getenv("PATH"), // ambient plugin wins
		"PULUMI_BACKEND_URL":       "file://" + filepath.Join(tmp, "state"),
		"PULUMI_CONFIG_PASSPHRASE": "e2e",
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	_ = os.MkdirAll(filepath.Join(tmp, "state"), 0o700)
	stack, err := auto.UpsertStackInlineSource(ctx, "e2e", "cmdprov-e2e", program,
		auto.Pulumi(pcmd), auto.PulumiHome(filepath.Join(tmp, "home")), auto.EnvVars(env))
	if err != nil {
		return fmt.Errorf("creating the stack: %w", err)
	}
	var log strings.Builder
	step := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		fmt.Printf("%-28s %6.2fs %v\n", name, time.Since(start).Seconds(), err)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, log.String())
		}
		return nil
	}

	if err := step("up (create both)", func() error {
		res, err := stack.Up(ctx, optup.ProgressStreams(&log))
		if err != nil {
			return err
		}
		if err := must(res.Outputs["local"].Value == "hello-1", "local stdout %v", res.Outputs["local"]); err != nil {
			return err
		}
		if err := must(res.Outputs["remote"].Value == "remote env-value stdin-value",
			"remote stdout %v", res.Outputs["remote"]); err != nil {
			return err
		}
		if b, _ := os.ReadFile(copied); string(b) != "v1" {
			return fmt.Errorf("CopyToRemote wrote %q", b)
		}
		return must(strings.Contains(log.String(), "hello-1"), "the output line is not in the engine's log")
	}); err != nil {
		return err
	}
	if err := step("state keeps secrets", func() error {
		// Read the stored state itself: it must hold ciphertext, not the secrets.
		files, _ := filepath.Glob(filepath.Join(tmp, "state", ".pulumi", "stacks", "*", "e2e.json"))
		if len(files) != 1 {
			return fmt.Errorf("state file not found: %v", files)
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		var d struct {
			Checkpoint struct {
				Latest struct {
					Resources []struct {
						Type    string                     `json:"type"`
						Inputs  map[string]json.RawMessage `json:"inputs"`
						Outputs map[string]json.RawMessage `json:"outputs"`
					} `json:"resources"`
				} `json:"latest"`
			} `json:"checkpoint"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		if strings.Contains(string(raw), "PRIVATE KEY") || strings.Contains(string(raw), `"env-value"`) {
			return fmt.Errorf("state holds the private key or the secret env value in plain text")
		}
		for _, r := range d.Checkpoint.Latest.Resources {
			if r.Type != "command:remote:Command" {
				continue
			}
			// Secret inputs stay secret in inputs and outputs; stdout is plain,
			// as with the real provider (additionalSecretOutputs covers it).
			for _, k := range []string{"connection", "environment", "stdin"} {
				for _, m := range []map[string]json.RawMessage{r.Inputs, r.Outputs} {
					if !strings.Contains(string(m[k]), "ciphertext") {
						return fmt.Errorf("%s is not encrypted in state", k)
					}
				}
			}
			return must(strings.Contains(string(r.Outputs["stdout"]), "remote env-value"), "stdout %s", r.Outputs["stdout"])
		}
		return fmt.Errorf("no remote command in state")
	}); err != nil {
		return err
	}

	phase = 2
	_ = os.WriteFile(srcFile, []byte("v2"), 0o600)
	if err := step("preview runs nothing", func() error {
		res, err := stack.Preview(ctx)
		if err != nil {
			return err
		}
		if err := must(countRuns() == 1, "the local command ran %d times, want 1 (preview must not run it)", countRuns()); err != nil {
			return err
		}
		return must(res.ChangeSummary["update"] == 2, "preview summary %v, want 2 updates", res.ChangeSummary)
	}); err != nil {
		return err
	}
	if err := step("up (update local)", func() error {
		res, err := stack.Up(ctx)
		if err != nil {
			return err
		}
		if err := must((*res.Summary.ResourceChanges)["update"] == 2, "changes %v", res.Summary.ResourceChanges); err != nil {
			return err
		}
		if b, _ := os.ReadFile(copied); string(b) != "v2" {
			return fmt.Errorf("CopyToRemote update wrote %q", b)
		}
		return must(res.Outputs["local"].Value == "hello-2", "local stdout %v", res.Outputs["local"])
	}); err != nil {
		return err
	}
	phase = 3
	if err := step("up (trigger => replace)", func() error {
		res, err := stack.Up(ctx)
		if err != nil {
			return err
		}
		if err := must((*res.Summary.ResourceChanges)["replace"] == 1, "changes %v", res.Summary.ResourceChanges); err != nil {
			return err
		}
		b, _ := os.ReadFile(deleted)
		return must(string(b) == "remote env-value stdin-value", "the replaced resource's delete wrote %q", b)
	}); err != nil {
		return err
	}
	return step("destroy (delete runs)", func() error {
		if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(&log)); err != nil {
			return err
		}
		b, _ := os.ReadFile(deleted)
		return must(string(b) == strings.Repeat("remote env-value stdin-value", 2), "deletes wrote %q", b)
	})
}

// startSSHD starts a throwaway sshd on 127.0.0.1 that accepts one fresh key.
func startSSHD(dir string) (int, string, func(), error) {
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
			filepath.Join(dir, k)).CombinedOutput(); err != nil {
			return 0, "", nil, fmt.Errorf("ssh-keygen: %v %s", err, out)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "client.pub"))
	key, _ := os.ReadFile(filepath.Join(dir, "client"))
	_ = os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %[2]s/host\nPidFile %[2]s/sshd.pid\n"+
		"AuthorizedKeysFile %[2]s/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"+
		"UsePAM no\nStrictModes no\nAcceptEnv DTR_TEST_* PULUMI_COMMAND_*\nSubsystem sftp internal-sftp\n", port, dir)
	_ = os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	_ = os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if err := cmd.Start(); err != nil {
		return 0, "", nil, fmt.Errorf("sshd: %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
			return port, string(key), stop, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return 0, "", nil, fmt.Errorf("sshd did not start on %d", port)
}
