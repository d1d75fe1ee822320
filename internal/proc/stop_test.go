package proc

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stopReq is a StopRequest as a cluster's preemption makes one.
type stopReq struct {
	sig   syscall.Signal
	grace time.Duration
}

func (s stopReq) Error() string              { return "preempted" }
func (s stopReq) StopSignal() syscall.Signal { return s.sig }
func (s stopReq) StopGrace() time.Duration   { return s.grace }

// TestRunStopRequest checks that a context cancelled with a StopRequest as
// its cause stops the child with the request's signal and grace period,
// not SIGINT and the Command's.
func TestRunStopRequest(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		req      stopReq
		want     Result
		min, max time.Duration // Run returns this long after the cancel
	}{
		{name: "SignalReplacesSIGINT", args: []string{"hang"}, req: stopReq{sig: syscall.SIGTERM},
			want: Result{ExitCode: 143, Signal: syscall.SIGTERM, Interrupted: true}, max: 10 * time.Second},
		{name: "GraceReplacesCommands", args: []string{"ignore-sigint"}, req: stopReq{sig: syscall.SIGINT, grace: 300 * time.Millisecond},
			want: Result{ExitCode: 130, Signal: syscall.SIGKILL, Interrupted: true}, min: 300 * time.Millisecond, max: 2500 * time.Millisecond},
		{name: "ZeroSignalIsSIGINT", args: []string{"hang"}, req: stopReq{},
			want: Result{ExitCode: 130, Signal: syscall.SIGINT, Interrupted: true}, max: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := procNewMarkerWriter()
			c := procHelperCommand(out, tt.args...)
			c.Grace = 20 * time.Second // longer than any case may take: the request's must win
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			cancelled := procCancelWhenReady(t, out, func() { cancel(tt.req) })
			res, err := Run(ctx, c)
			end := time.Now()
			require.NoError(t, err)
			got := Result{ExitCode: res.ExitCode, Signal: res.Signal, Interrupted: res.Interrupted}
			assert.Equal(t, tt.want, got, "output %q", out.String())
			took := end.Sub(<-cancelled)
			assert.GreaterOrEqual(t, took, tt.min)
			assert.LessOrEqual(t, took, tt.max)
		})
	}
}
