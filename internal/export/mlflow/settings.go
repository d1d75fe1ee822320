package mlflow

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Settings say which tracking server to talk to and how to authenticate,
// read from the environment variables MLflow's own clients read.
type Settings struct {
	URI      string // MLFLOW_TRACKING_URI: http(s)://host[:port][/prefix]
	Token    string // MLFLOW_TRACKING_TOKEN: sent as a bearer token
	Username string // MLFLOW_TRACKING_USERNAME and
	Password string // MLFLOW_TRACKING_PASSWORD: basic auth (they win over a token, as in MLflow's client)
	// InsecureTLS skips the server certificate check
	// (MLFLOW_TRACKING_INSECURE_TLS=true).
	InsecureTLS bool
	// Timeout bounds each API request (MLFLOW_HTTP_REQUEST_TIMEOUT,
	// seconds; default 120). Artifact uploads are bounded by the context
	// only: a model takes as long as it takes.
	Timeout time.Duration
}

// The environment variables Settings are read from.
const (
	EnvURI         = "MLFLOW_TRACKING_URI"
	EnvToken       = "MLFLOW_TRACKING_TOKEN"
	EnvUsername    = "MLFLOW_TRACKING_USERNAME"
	EnvPassword    = "MLFLOW_TRACKING_PASSWORD"
	EnvInsecureTLS = "MLFLOW_TRACKING_INSECURE_TLS"
	EnvTimeout     = "MLFLOW_HTTP_REQUEST_TIMEOUT"
)

// SettingsFromEnv reads the settings with lookup (os.LookupEnv, or a
// test's): the one place the MLFLOW_* variables are read.
func SettingsFromEnv(lookup func(string) (string, bool)) Settings {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	s := Settings{URI: get(EnvURI), Token: get(EnvToken), Username: get(EnvUsername), Password: get(EnvPassword), Timeout: 120 * time.Second}
	s.InsecureTLS, _ = strconv.ParseBool(get(EnvInsecureTLS))
	if n, err := strconv.Atoi(get(EnvTimeout)); err == nil && n > 0 {
		s.Timeout = time.Duration(n) * time.Second
	}
	return s
}

// baseURL checks the tracking URI and returns it without a trailing slash.
// Only a tracking server can be exported to: a local store (a path,
// file:, sqlite:) or Databricks' named profiles need MLflow's Python
// client.
func baseURL(uri string) (*url.URL, error) {
	if uri == "" {
		return nil, fmt.Errorf("no MLflow tracking server: pass -uri=http://host:5000 or set %s", EnvURI)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("MLflow tracking URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "", "file", "sqlite", "postgresql", "mysql", "mssql":
		return nil, fmt.Errorf("MLflow tracking URI %q is a local store, not a tracking server: start one (mlflow server --backend-store-uri %s) and export to its http:// address", uri, uri)
	case "databricks":
		return nil, fmt.Errorf("MLflow tracking URI %q names a Databricks profile: export to the workspace's https:// address with %s set to a personal access token", uri, EnvToken)
	default:
		return nil, fmt.Errorf("MLflow tracking URI %q: want http:// or https://", uri)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("MLflow tracking URI %q has no host", uri)
	}
	if u.User != nil {
		return nil, fmt.Errorf("MLflow tracking URI %s holds credentials: set %s and %s instead", redactUser(u), EnvUsername, EnvPassword)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func redactUser(u *url.URL) string {
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}
