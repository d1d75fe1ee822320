package durable

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	held, err := Lock(context.Background(), path, nil)
	require.NoError(t, err)

	// A second taker waits, says so once, and gives up when its ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond)
	defer cancel()
	waits := 0
	_, err = Lock(ctx, path, func() { waits++ })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, waits)

	// Once the holder closes its file, the next taker gets the lock.
	got := make(chan error, 1)
	go func() {
		f, err := Lock(context.Background(), path, nil)
		if err == nil {
			f.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("took a held lock (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, held.Close())
	require.NoError(t, <-got)
}
