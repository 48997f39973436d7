package provider

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSSHD is a real OpenSSH server on 127.0.0.1 with its own keys.
type testSSHD struct {
	port      int
	user      string
	clientKey string // private key text the server authorizes
	hostPub   string // the server's host public key line
	otherPub  string // a host key the server does NOT have
	clientDir string
}

func sshKeygen(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s (install openssh-client)", path, err, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logLevel lets a failing test be rerun with TEST_SSHD_LOGLEVEL=DEBUG2.
func logLevel() string {
	if l := os.Getenv("TEST_SSHD_LOGLEVEL"); l != "" {
		return l
	}
	return "ERROR"
}

// startSSHD starts /usr/sbin/sshd -D for the test's lifetime.
func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		t.Fatalf("sshd not found (%v): apt-get install -y openssh-server", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sshKeygen(t, filepath.Join(dir, "host"))
	sshKeygen(t, filepath.Join(dir, "other_host"))
	sshKeygen(t, filepath.Join(dir, "client"))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"),
		[]byte(readFile(t, filepath.Join(dir, "client.pub"))), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd insists on its privilege separation directory.
	_ = os.MkdirAll("/run/sshd", 0o755)
	port := freePort(t)
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
AcceptEnv DTR_TEST_* PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR
LogLevel %s
`, port, dir, dir, dir, logLevel())
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfgPath)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %d: %v\n%s", port, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &testSSHD{
		port:      port,
		user:      u.Username,
		clientKey: readFile(t, filepath.Join(dir, "client")),
		hostPub:   strings.TrimSpace(readFile(t, filepath.Join(dir, "host.pub"))),
		otherPub:  strings.TrimSpace(readFile(t, filepath.Join(dir, "other_host.pub"))),
		clientDir: dir,
	}
}

// conn returns a connection input for this server.
func (s *testSSHD) conn() map[string]any {
	return map[string]any{
		"host": "127.0.0.1", "port": float64(s.port), "user": s.user, "privateKey": s.clientKey,
	}
}
