package stamp

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
)

// Withhold are the untracked files never saved into a run, whatever their
// content: files that hold credentials by their name. A pattern without a
// slash matches the name of any path element (a file, or a directory and
// all below it); one ending in / matches a directory anywhere; one with a
// slash inside matches the whole path from the repository's top (** for
// any directories). An experiment adds its own with secrets.withhold.
var Withhold = []string{
	// dotenv files and shell secrets
	".env", ".env.*", "*.env", ".envrc", ".flaskenv",
	// cloud, cluster and registry credentials
	".aws/", ".azure/", ".gcloud/", "gcloud/", "application_default_credentials.json", "service-account*.json",
	".kube/", "kubeconfig", "kubeconfig.*", "*.kubeconfig", ".docker/config.json", ".boto", ".s3cfg",
	".vault-token", ".terraformrc", "*.tfvars", "*.tfstate", "*.tfstate.*",
	// ssh, gpg, tls keys and keystores
	".ssh/", ".gnupg/", "id_*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.ppk", "*.kdbx", "*.asc",
	// package registry and tool tokens
	".netrc", "_netrc", ".pypirc", ".npmrc", ".yarnrc", ".yarnrc.yml", ".gem/credentials", ".git-credentials", ".gitcookies",
	".pgpass", ".my.cnf", ".htpasswd", ".huggingface/", ".cache/huggingface/token", ".wandb/", "wandb/settings",
	// anything named as one
	"credentials*", "secret", "secrets*", "*.secret", "*.secrets",
}

// withheldBy returns the pattern of patterns that withholds the slash path
// p (relative to the repository's top), or "".
func withheldBy(p string, patterns []string) string {
	elems := strings.Split(p, "/")
	for _, pat := range patterns {
		dirOnly := strings.HasSuffix(pat, "/")
		pat = strings.TrimSuffix(pat, "/")
		switch {
		case strings.Contains(pat, "/"):
			if ok, _ := doublestar.Match(pat, p); ok {
				return pat
			}
			// a directory pattern withholds what lies under it
			for i := range elems[:len(elems)-1] {
				if ok, _ := doublestar.Match(pat, strings.Join(elems[:i+1], "/")); ok {
					return pat
				}
			}
		default:
			last := len(elems)
			if dirOnly {
				last-- // a directory is never the file itself
			}
			for _, e := range elems[:last] {
				if ok, _ := path.Match(pat, e); ok {
					return pat
				}
			}
		}
	}
	return ""
}

// gitleaksConfig is gitleaks' default rule set, compiled once (about 0.4 s)
// and only when something is to be saved. Its logger is silenced: findings
// are reported here, by file and rule, never by value.
var gitleaksConfig = sync.OnceValues(func() (config.Config, error) {
	logging.Logger = logging.Logger.Level(zerolog.Disabled)
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		return config.Config{}, err
	}
	return d.Config, nil
})

// scanner finds secrets in the files a stamp saves, with gitleaks' default
// rules; one per stamp (a detector is not shared between goroutines).
type scanner struct {
	d   *detect.Detector
	err error
}

func newScanner() *scanner {
	cfg, err := gitleaksConfig()
	if err != nil {
		return &scanner{err: err}
	}
	return &scanner{d: detect.NewDetector(cfg)}
}

// redact replaces each secret gitleaks finds in b by REDACTED and returns
// the rules that found them, sorted and without repeats.
func (s *scanner) redact(b []byte) ([]byte, []string, error) {
	if s.err != nil {
		return b, nil, s.err
	}
	var rules, secrets []string
	for _, f := range s.d.DetectBytes(b) {
		if f.Secret == "" {
			continue
		}
		secrets = append(secrets, f.Secret)
		if !slices.Contains(rules, f.RuleID) {
			rules = append(rules, f.RuleID)
		}
	}
	// Longer secrets first, so that one inside another goes whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, sec := range secrets {
		b = bytes.ReplaceAll(b, []byte(sec), []byte(redactedMark))
	}
	sort.Strings(rules)
	return b, rules, nil
}

// clean is what a saved file holds: the remotes' credentials and what
// gitleaks finds replaced by REDACTED, with a warning naming the file and
// the rules (never a secret), and the file listed in Redacted. A file that
// could not be scanned is not saved.
func (st *repoStamp) clean(name string, b []byte) ([]byte, error) {
	b = st.scrub(name, b)
	if st.scan == nil {
		st.scan = newScanner()
	}
	b, rules, err := st.scan.redact(b)
	if err != nil {
		return nil, fmt.Errorf("scan for secrets: %w", err)
	}
	if len(rules) > 0 {
		if !slices.Contains(st.savedRedacted, name) {
			st.savedRedacted = append(st.savedRedacted, name)
		}
		st.warnf("git: %s looked like it held secrets (gitleaks: %s), saved with %s in their place", name, strings.Join(rules, ", "), redactedMark)
	}
	return b, nil
}
