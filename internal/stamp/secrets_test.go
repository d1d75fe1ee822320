package stamp

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Secrets that gitleaks' default rules find. They are made up; each is
// built at run time so that this file itself holds none a scanner would
// flag.
var (
	fakeAWSKey      = "AKIA" + "Z7Q3XW5VLRTP2MNB"
	fakeGitHubToken = "ghp_" + "R7mQ2xV9kLp4Zt8WcY3nB6hJ1sD5fG0aEu2K"
	fakePrivateKey  = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Zs7h3mFq2d9xL4vT8pW1yR6cN5bJ0kG2aH7eU3iO9lQ4tX8\nzV1mB5nC7dF2gK6jP0sA4wE3rY9uI8oL1qT5vZ2xN7hM3bG6cJ4fD0kS8aW1eR5y\n-----END RSA PRIVATE KEY-----\n"
)

// TestGitWithholdsCredentialFiles checks that untracked files whose names
// say they hold credentials are listed but never copied into the run, that
// the experiment adds its own patterns, and that what is saved is 0600.
func TestGitWithholdsCredentialFiles(t *testing.T) {
	gitIsolate(t)
	for _, noCLI := range []bool{false, true} {
		repo := gitMustRepo(t, gitBaseFiles)
		withheld := []string{".env", ".env.local", "app/prod.env", ".aws/credentials", ".ssh/id_ed25519", "secrets.yaml",
			"config/credentials.json", "deploy/tls.pem", "deploy/tls.key", "id_rsa", ".netrc", ".pypirc", ".npmrc",
			".kube/config", "kubeconfig", "private/token.json"}
		for _, p := range withheld {
			gitMustWrite(t, filepath.Join(repo, p), "TOKEN=not-for-the-record\n")
		}
		gitMustWrite(t, filepath.Join(repo, "notes.txt"), "plain notes\n")
		gitMustWrite(t, filepath.Join(repo, "run.sh"), "#!/bin/sh\necho hi\n")
		require.NoError(t, os.Chmod(filepath.Join(repo, "run.sh"), 0o755))
		runDir := t.TempDir()
		g, warnings := Git(context.Background(), repo, runDir, GitOptions{NoCLI: noCLI, Withhold: []string{"private/*.json"}})
		require.NotNil(t, g)

		assert.ElementsMatch(t, withheld, g.Withheld, "noCLI=%v", noCLI)
		for _, p := range withheld {
			assert.NoFileExists(t, filepath.Join(runDir, untrackedDir, p), "noCLI=%v: %s was saved", noCLI, p)
			gitHasWarning(t, warnings, "untracked "+p+" looks like a credential")
		}
		err := filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			if b, err := os.ReadFile(path); err == nil {
				assert.NotContains(t, string(b), "not-for-the-record", "noCLI=%v: %s holds a withheld file's content", noCLI, path)
			}
			return nil
		})
		require.NoError(t, err)
		for _, p := range []string{"notes.txt", "run.sh"} {
			st, err := os.Stat(filepath.Join(runDir, untrackedDir, p))
			require.NoError(t, err, "noCLI=%v: %s not saved", noCLI, p)
			assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), "noCLI=%v: %s", noCLI, p)
		}
		for _, u := range g.Untracked {
			assert.Equal(t, u.Path == "run.sh", u.Exec, "noCLI=%v: %s exec", noCLI, u.Path)
		}
	}
}

// TestGitRedactsSecretsInSavedFiles checks that gitleaks' rules find
// secrets in the untracked copies and in git.patch, that they are saved
// with REDACTED in their place (the patch still applies where the secret
// was only added), and that the warnings and Redacted name the files and
// rules, never the secrets.
func TestGitRedactsSecretsInSavedFiles(t *testing.T) {
	gitIsolate(t)
	for _, noCLI := range []bool{false, true} {
		repo := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(repo, "config.py"), "AWS_KEY = '"+fakeAWSKey+"'\nLR = 0.01\n")
		gitMustWrite(t, filepath.Join(repo, "notes/deploy.txt"), fakePrivateKey)
		gitMustWrite(t, filepath.Join(repo, "a.txt"), gitBaseFiles["a.txt"]+"token = \""+fakeGitHubToken+"\"\n")
		runDir := t.TempDir()
		g, warnings := Git(context.Background(), repo, runDir, GitOptions{NoCLI: noCLI})
		require.NotNil(t, g)

		assert.ElementsMatch(t, []string{"config.py", "notes/deploy.txt", patchName}, g.Redacted, "noCLI=%v", noCLI)
		saved := gitMustRead(t, filepath.Join(runDir, untrackedDir, "config.py"))
		assert.Equal(t, "AWS_KEY = 'REDACTED'\nLR = 0.01\n", saved, "noCLI=%v", noCLI)
		assert.NotContains(t, gitMustRead(t, filepath.Join(runDir, untrackedDir, "notes/deploy.txt")), "MIIEowIBAAKCAQEA", "noCLI=%v", noCLI)
		patch := gitMustRead(t, filepath.Join(runDir, patchName))
		assert.Contains(t, patch, `+token = "REDACTED"`, "noCLI=%v", noCLI)
		st, err := os.Stat(filepath.Join(runDir, patchName))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), "noCLI=%v: git.patch", noCLI)
		clone := gitMustApply(t, repo, runDir)
		assert.Contains(t, gitMustRead(t, filepath.Join(clone, "a.txt")), `token = "REDACTED"`, "noCLI=%v", noCLI)

		gitHasWarning(t, warnings, "config.py looked like it held secrets (gitleaks: aws-access-token)")
		gitHasWarning(t, warnings, patchName+" looked like it held secrets (gitleaks: github-pat)")
		for _, w := range warnings {
			for _, sec := range []string{fakeAWSKey, fakeGitHubToken, "MIIEowIBAAKCAQEA"} {
				assert.NotContains(t, w, sec, "a warning holds a secret")
			}
		}
	}
}

func TestWithheldBy(t *testing.T) {
	tests := map[string]string{
		".env": ".env", "sub/.env.production": ".env.*", "x.env": "*.env", ".aws/config": ".aws", "a/.ssh/known_hosts": ".ssh",
		"id_ed25519.pub": "id_*", "certs/server.pem": "*.pem", "secrets.toml": "secrets*", "credentials": "credentials*",
		"my.kubeconfig": "*.kubeconfig", "infra/prod.tfvars": "*.tfvars",
		"train.py": "", "environment.yml": "", "envs/x.txt": "", "data/keys.csv": "", "aws.md": "", "secret_sauce.py": "",
	}
	for p, want := range tests {
		assert.Equal(t, want, withheldBy(p, Withhold), "withheldBy(%q)", p)
	}
	assert.Equal(t, "conf/**/*.yaml", withheldBy("conf/a/b/x.yaml", []string{"conf/**/*.yaml"}))
	assert.Equal(t, "vault", withheldBy("vault/x/y.txt", []string{"vault/"}))
	assert.Equal(t, "", withheldBy("vault", []string{"vault/"}), "a directory pattern is not the file itself")
	assert.True(t, strings.HasPrefix(withheldBy("private/deep/x.json", []string{"private"}), "private"))
}
