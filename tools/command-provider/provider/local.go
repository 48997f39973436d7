package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// runLocal runs cmd on this machine with /bin/sh -c (or the interpreter given).
func runLocal(ctx context.Context, in localInputs, cmd, prevOut, prevErr string, log lineLogger) (string, string, error) {
	args := []string{"/bin/sh", "-c"}
	if len(in.Interpreter) > 0 {
		args = append([]string(nil), in.Interpreter...)
	}
	args = append(args, cmd)
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	// Own process group, so cancelling also stops the shell's children.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	if in.Dir != nil {
		c.Dir = *in.Dir
	}
	c.Env = os.Environ()
	for _, k := range sortedKeys(in.Environment) {
		c.Env = append(c.Env, k+"="+in.Environment[k])
	}
	if in.AddPreviousOutputInEnv {
		if prevOut != "" {
			c.Env = append(c.Env, envPrevStdout+"="+prevOut)
		}
		if prevErr != "" {
			c.Env = append(c.Env, envPrevStderr+"="+prevErr)
		}
	}
	if in.Stdin != nil && *in.Stdin != "" {
		c.Stdin = strings.NewReader(*in.Stdin)
	}
	capt := newCapture(in.Logging, log)
	c.Stdout, c.Stderr = capt.Stdout(), capt.Stderr()
	err := c.Run()
	capt.finish()
	if err != nil {
		if in.Dir != nil {
			if _, serr := os.Stat(*in.Dir); serr != nil {
				err = fmt.Errorf("dir %q: %w", *in.Dir, serr)
			}
		}
		return "", "", runError(ctx, err, cmd, in.commandSecret, capt)
	}
	out, errOut := capt.results()
	return out, errOut, nil
}
