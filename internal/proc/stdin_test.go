package proc

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStdin: a child given the read end of a pipe reads what is written
// to it, and sees the end when the write end is closed.
func TestStdin(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	var out bytes.Buffer
	p, err := Start(Command{Path: "cat", Stdin: r, Output: &out})
	require.NoError(t, err)
	r.Close()
	_, err = w.WriteString("{\"op\": \"ask\"}\n")
	require.NoError(t, err)
	w.Close()
	res, err := p.Wait()
	require.NoError(t, err)
	assert.True(t, res.OK(), "cat ended with %s", res)
	assert.Equal(t, "{\"op\": \"ask\"}\n", out.String())
}

// TestStdinDefault: without Stdin, the child reads /dev/null (an empty
// input), not a closed descriptor.
func TestStdinDefault(t *testing.T) {
	var out bytes.Buffer
	res, err := Run(context.Background(), Command{Path: "sh", Args: []string{"-c", "cat && echo read-ok"}, Output: &out})
	require.NoError(t, err)
	assert.True(t, res.OK())
	assert.Equal(t, "read-ok\n", out.String())
}
