package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadSecrets(t *testing.T) {
	tests := []struct {
		name, block, err string
		want             []string
	}{
		{name: "Patterns", block: "secrets: {withhold: [private/*.json, vault/, \"**/token.txt\"]}\n", want: []string{"private/*.json", "vault/", "**/token.txt"}},
		{name: "OnePattern", block: "secrets: {withhold: creds.ini}\n", want: []string{"creds.ini"}},
		{name: "Absent", block: ""},
		{name: "Absolute", block: "secrets: {withhold: [/etc/passwd]}\n", err: `experiments/x.yaml:4:22: secrets.withhold: "/etc/passwd" is an absolute path`},
		{name: "BadGlob", block: "secrets: {withhold: [\"a[\"]}\n", err: `experiments/x.yaml:4:22: secrets.withhold: "a[" is not a valid glob pattern`},
		{name: "UnknownKey", block: "secrets: {withold: [x]}\n", err: `experiments/x.yaml:4:11: secrets: unknown key "withold" (did you mean "withhold"?)`},
		{name: "Empty", block: "secrets: {withhold: [\"\"]}\n", err: "secrets.withhold: expected a path or a list of paths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "python/train.py", "print(1)\n")
			writeFile(t, root, "experiments/x.yaml", "name: x\nstages:\n  train: python/train.py\n"+tt.block)
			e, err := Load(root, "x")
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.Secrets.Withhold)
		})
	}
}
