package mlflow

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		uri, want, err string
	}{
		{uri: "http://127.0.0.1:5000", want: "http://127.0.0.1:5000"},
		{uri: "https://mlflow.example.com/team/", want: "https://mlflow.example.com/team"},
		{uri: "", err: "no MLflow tracking server: pass -uri=http://host:5000 or set MLFLOW_TRACKING_URI"},
		{uri: "sqlite:///mlflow.db", err: `MLflow tracking URI "sqlite:///mlflow.db" is a local store, not a tracking server: start one (mlflow server --backend-store-uri sqlite:///mlflow.db) and export to its http:// address`},
		{uri: "./mlruns", err: "is a local store, not a tracking server"},
		{uri: "databricks", err: "is a local store"},
		{uri: "databricks://profile", err: "names a Databricks profile"},
		{uri: "ftp://host", err: "want http:// or https://"},
		{uri: "http://user:pw@host:5000", err: "MLflow tracking URI http://REDACTED@host:5000 holds credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD instead"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			u, err := baseURL(tt.uri)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.NotContains(t, err.Error(), "pw@")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, u.String())
		})
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{EnvURI: " http://h:5000 ", EnvToken: "tok", EnvInsecureTLS: "true", EnvTimeout: "7"}
	s := SettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	assert.Equal(t, Settings{URI: "http://h:5000", Token: "tok", InsecureTLS: true, Timeout: 7 * time.Second}, s)
}

// fakeServer answers with handler and counts the requests.
func fakeServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testClient(t *testing.T, s Settings) *client {
	c, err := newClient(s, nil)
	require.NoError(t, err)
	c.backoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	return c
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("MLflowMessageShown", func(t *testing.T) {
		srv, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error_code": "INVALID_PARAMETER_VALUE", "message": "A batch logging request can contain at most 100 params. Got 101 params."}`))
		})
		err := testClient(t, Settings{URI: srv.URL}).logBatch(ctx, "r1", batch{})
		assert.EqualError(t, err, "MLflow runs/log-batch: Bad Request 400 INVALID_PARAMETER_VALUE: A batch logging request can contain at most 100 params. Got 101 params.")
		assert.EqualValues(t, 1, n.Load(), "a 4xx is not retried")
	})
	t.Run("UnauthorizedSaysWhichVariables", func(t *testing.T) {
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate."))
		})
		_, err := testClient(t, Settings{URI: srv.URL}).experimentByName(ctx, "x")
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Fatal())
		assert.Contains(t, err.Error(), "Unauthorized 401: You are not authenticated.")
		assert.Contains(t, err.Error(), "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN")
	})
	t.Run("NotMLflowIsFatal", func(t *testing.T) {
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		_, err := testClient(t, Settings{URI: srv.URL}).experimentByName(ctx, "x")
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Fatal(), "a plain 404 is not MLflow's RESOURCE_DOES_NOT_EXIST")
	})
	t.Run("ServerErrorRetried", func(t *testing.T) {
		var calls atomic.Int64
		srv, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"experiment": {"experiment_id": "7", "name": "x"}}`))
		})
		e, err := testClient(t, Settings{URI: srv.URL}).experimentByName(ctx, "x")
		require.NoError(t, err)
		assert.Equal(t, "7", e.ID)
		assert.EqualValues(t, 3, n.Load())
	})
	t.Run("CreateRunNotRetried", func(t *testing.T) {
		srv, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
		_, err := testClient(t, Settings{URI: srv.URL}).createRunOnce(ctx, "1", "r", 0, nil)
		require.Error(t, err)
		assert.EqualValues(t, 1, n.Load(), "a create sent twice may create two runs")
	})
	t.Run("Unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		_, err = testClient(t, Settings{URI: "http://" + addr}).experimentByName(ctx, "x")
		var ue *UnreachableError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "MLflow tracking server http://"+addr+" is unreachable: connection refused ("+addr+") (is `mlflow server` running there? check -uri or MLFLOW_TRACKING_URI)", err.Error())
	})
	t.Run("NoAnswerInTime", func(t *testing.T) {
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) })
		c := testClient(t, Settings{URI: srv.URL, Timeout: 50 * time.Millisecond})
		c.backoff = nil
		_, err := c.experimentByName(ctx, "x")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no answer from "+srv.URL+" in 50ms (MLFLOW_HTTP_REQUEST_TIMEOUT raises the limit)")
	})
	t.Run("CancelledIsTheContextsError", func(t *testing.T) {
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := testClient(t, Settings{URI: srv.URL}).experimentByName(ctx, "x")
		assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	})
}

func TestClientAuth(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want string
	}{
		{"None", Settings{}, ""},
		{"Token", Settings{Token: "t0k"}, "Bearer t0k"},
		{"BasicWinsOverToken", Settings{Token: "t0k", Username: "ann", Password: "pw"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw"))},
		{"UsernameAloneIsNotBasic", Settings{Token: "t0k", Username: "ann"}, "Bearer t0k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got atomic.Value
			srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				got.Store(r.Header.Get("Authorization"))
				w.Write([]byte(`{}`))
			})
			tt.s.URI = srv.URL
			require.NoError(t, testClient(t, tt.s).updateRun(context.Background(), "r", "FINISHED", 1))
			assert.Equal(t, tt.want, got.Load())
		})
	}
	t.Run("UploadSendsItToo", func(t *testing.T) {
		var got, path atomic.Value
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Get("Authorization"))
			path.Store(r.URL.EscapedPath())
		})
		c := testClient(t, Settings{URI: srv.URL + "/prefix", Token: "t0k"})
		f := dataFile("logs/a b.log", []byte("x"))
		require.NoError(t, c.upload(context.Background(), "1/r/artifacts/"+f.Path, f.open))
		assert.Equal(t, "Bearer t0k", got.Load())
		assert.Equal(t, "/prefix/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/logs/a%20b.log", path.Load())
	})
}

func TestResultString(t *testing.T) {
	r := &Result{Server: "http://h:5000", Created: 2, Updated: 1, Unchanged: 7, Running: 1, Sweeps: 1, Requests: 40, Uploaded: 3 << 20}
	assert.Equal(t, "mlflow http://h:5000: 2 created, 1 updated, 7 up to date, 1 still running (exported once they end) (1 sweep parent run(s) among them); 40 request(s), 3.0 MiB of artifacts", r.String())
	assert.False(t, strings.Contains((&Result{}).String(), "MiB"))
}
