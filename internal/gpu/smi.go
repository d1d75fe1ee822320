package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/proc"
)

// DefaultTimeout bounds a whole Query: a hung driver makes nvidia-smi hang,
// and a run must not wait on it. A context with an earlier deadline wins.
const DefaultTimeout = 5 * time.Second

// smiName is the program looked up on PATH.
const smiName = "nvidia-smi"

// inventoryFields are the columns Query asks for, in the order parseQuery
// reads them.
const inventoryFields = "index,name,uuid,driver_version,memory.total,memory.used,utilization.gpu,utilization.memory,power.draw,temperature.gpu,pci.bus_id"

// telemetryFields are the columns of the sampler, in the order parseRow
// reads them.
const telemetryFields = "timestamp,index,uuid,utilization.gpu,memory.used,power.draw"

const csvFormat = "--format=csv,noheader,nounits"

// queryArgs are the arguments of the inventory query.
func queryArgs() []string { return []string{"--query-gpu=" + inventoryFields, csvFormat} }

// samplerArgs are the arguments of the telemetry sampler; the interval is
// whole milliseconds, at least one.
func samplerArgs(interval time.Duration) []string {
	ms := max(interval.Milliseconds(), 1)
	return []string{"--query-gpu=" + telemetryFields, csvFormat, "-lms", strconv.FormatInt(ms, 10)}
}

// runSMI runs nvidia-smi with args in its own process group and returns its
// standard output. When ctx ends first, the whole group is killed at once
// (a hung nvidia-smi does not answer SIGINT). Every failure is an
// *UnavailableError.
func runSMI(ctx context.Context, limit time.Duration, args ...string) ([]byte, error) {
	path, err := exec.LookPath(smiName)
	if err != nil {
		return nil, &UnavailableError{Reason: "nvidia-smi not found on PATH; is the NVIDIA driver installed?", Err: err}
	}
	var stdout, stderr bytes.Buffer
	res, err := proc.Run(ctx, proc.Command{Path: path, Args: args, Output: &stdout, Stderr: &stderr, Grace: time.Millisecond})
	if err == nil && res.OK() {
		return stdout.Bytes(), nil
	}
	return nil, smiError(ctx, limit, res, err, stdout.Bytes(), stderr.Bytes())
}

// smiError says why a run of nvidia-smi gave nothing.
func smiError(ctx context.Context, limit time.Duration, res proc.Result, err error, stdout, stderr []byte) *UnavailableError {
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return &UnavailableError{Reason: fmt.Sprintf("nvidia-smi did not answer within %s (driver hung?)", limit.Round(time.Millisecond)), Err: ctxErr}
	case ctxErr != nil:
		return &UnavailableError{Reason: "interrupted while asking nvidia-smi", Err: ctxErr}
	case err != nil:
		return &UnavailableError{Reason: fmt.Sprintf("cannot run nvidia-smi: %v", err), Err: err}
	}
	exitErr := fmt.Errorf("nvidia-smi: %s", res)
	if res.Signal != 0 {
		return &UnavailableError{Reason: fmt.Sprintf("nvidia-smi was killed (%s)", res), Err: exitErr}
	}
	// nvidia-smi prints its errors on stdout; stderr is the fallback.
	msg := firstLine(stdout)
	if msg == "" {
		msg = firstLine(stderr)
	}
	reason := fmt.Sprintf("nvidia-smi exited with status %d", res.ExitCode)
	if msg != "" {
		reason += ": " + msg
	}
	return &UnavailableError{Reason: reason, ExitCode: res.ExitCode, Err: exitErr}
}

// firstLine is the first non-blank line of b, trimmed.
func firstLine(b []byte) string {
	for line := range strings.Lines(string(b)) {
		if s := strings.TrimSpace(line); s != "" {
			return s
		}
	}
	return ""
}

// withTimeout bounds ctx by DefaultTimeout and returns the bound that
// applies, for messages.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	limit := DefaultTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = max(time.Until(d), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	return ctx, cancel, limit
}
