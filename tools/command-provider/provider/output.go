package provider

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

const (
	envPrevStdout = "PULUMI_COMMAND_STDOUT"
	envPrevStderr = "PULUMI_COMMAND_STDERR"
	// errTailBytes caps how much output goes into an error message.
	errTailBytes = 8 << 10
)

// lineLogger receives each output line of a running command.
type lineLogger func(line string)

// capture collects a command's stdout, stderr and their interleaving, and
// streams lines to the engine log as the `logging` input asks.
type capture struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	both           bytes.Buffer
	pw             *io.PipeWriter
	done           chan struct{}
	logOut, logErr bool
}

func newCapture(mode string, log lineLogger) *capture {
	c := &capture{
		logOut: mode == "" || mode == "stdout" || mode == "stdoutAndStderr",
		logErr: mode == "" || mode == "stderr" || mode == "stdoutAndStderr",
		done:   make(chan struct{}),
	}
	if log == nil || (!c.logOut && !c.logErr) {
		c.logOut, c.logErr = false, false
		close(c.done)
		return c
	}
	pr, pw := io.Pipe()
	c.pw = pw
	go func() {
		defer close(c.done)
		br := bufio.NewReader(pr)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				log(strings.TrimSuffix(line, "\n"))
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	return c
}

type captureWriter struct {
	c   *capture
	buf *bytes.Buffer
	log bool
}

func (w captureWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	w.buf.Write(p)
	w.c.both.Write(p)
	w.c.mu.Unlock()
	if w.log && w.c.pw != nil {
		_, _ = w.c.pw.Write(p)
	}
	return len(p), nil
}

func (c *capture) Stdout() io.Writer { return captureWriter{c, &c.stdout, c.logOut} }
func (c *capture) Stderr() io.Writer { return captureWriter{c, &c.stderr, c.logErr} }

// finish waits until every line has been logged.
func (c *capture) finish() {
	if c.pw != nil {
		_ = c.pw.Close()
	}
	<-c.done
}

// results returns stdout and stderr with one trailing newline removed, as the real provider does.
func (c *capture) results() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSuffix(c.stdout.String(), "\n"), strings.TrimSuffix(c.stderr.String(), "\n")
}

// runError formats a failed run like the real provider ("<cause>: running "<cmd>":\n<output>"),
// but hides the command text when it was a secret and keeps only the output's tail.
func runError(ctx context.Context, cause error, cmd string, secret bool, c *capture) error {
	if ctx.Err() != nil {
		cause = fmt.Errorf("cancelled (%v) after: %w", context.Cause(ctx), cause)
	}
	shown := strconv.Quote(cmd)
	if secret {
		shown = "[secret command]"
	}
	c.mu.Lock()
	out := c.both.String()
	c.mu.Unlock()
	if len(out) > errTailBytes {
		out = "[...]" + out[len(out)-errTailBytes:]
	}
	return fmt.Errorf("%w: running %s:\n%s", cause, shown, out)
}
