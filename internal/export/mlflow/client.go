package mlflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// client speaks MLflow's REST API to one tracking server.
type client struct {
	base    *url.URL
	http    *http.Client
	auth    string // the Authorization header, or ""
	timeout time.Duration
	backoff []time.Duration // waits before each retry of a retriable failure
	calls   atomic.Int64    // requests sent, retries included
}

// retryWaits are the waits before the retries of a request that failed in
// a way a retry may cure (the connection, a 5xx, a 429): about two seconds
// in all, so that a server that is down is reported quickly.
var retryWaits = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}

// newClient returns a client for s; rt, when not nil, replaces the HTTP
// transport (tests count and cut requests with it).
func newClient(s Settings, rt http.RoundTripper) (*client, error) {
	base, err := baseURL(s.URI)
	if err != nil {
		return nil, err
	}
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		if s.InsecureTLS {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		}
		rt = t
	}
	c := &client{base: base, http: &http.Client{Transport: rt}, timeout: s.Timeout, backoff: retryWaits}
	switch {
	case s.Username != "" && s.Password != "":
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password))
	case s.Token != "":
		c.auth = "Bearer " + s.Token
	}
	if c.timeout <= 0 {
		c.timeout = 120 * time.Second
	}
	return c, nil
}

// APIError is a request the server answered with an error status: its
// HTTP status, MLflow's error code and message.
type APIError struct {
	Endpoint string // e.g. "runs/log-batch"
	Status   int
	Code     string // MLflow's error_code, e.g. INVALID_PARAMETER_VALUE
	Message  string
	Server   string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("MLflow %s: %s %d", e.Endpoint, http.StatusText(e.Status), e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += fmt.Sprintf(" (the server at %s wants credentials: set %s and %s, or %s)", e.Server, EnvUsername, EnvPassword, EnvToken)
	case http.StatusForbidden:
		msg += fmt.Sprintf(" (the credentials given are not allowed to do this at %s: ask its admin for EDIT permission on the experiment)", e.Server)
	}
	return msg
}

// NotFound reports whether the server said the resource does not exist.
func (e *APIError) NotFound() bool { return e.Code == "RESOURCE_DOES_NOT_EXIST" }

// Fatal reports whether no further request can succeed: the credentials
// are refused, or the address is not an MLflow server.
func (e *APIError) Fatal() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || (e.Status == http.StatusNotFound && e.Code == "")
}

// UnreachableError is a tracking server that could not be reached.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("MLflow tracking server %s is unreachable: %v (is `mlflow server` running there? check -uri or %s)", e.Server, e.Err, EnvURI)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// call is one API request: a JSON body (for POST) or query (for GET), and
// the response decoded into out.
type call struct {
	method, endpoint string
	query            url.Values
	in, out          any
	once             bool // never retried: sending it twice may do it twice
}

// api sends an API request under /api/2.0/mlflow/, retrying failures a
// retry may cure.
func (c *client) api(ctx context.Context, cl call) error {
	var body []byte
	if cl.in != nil {
		b, err := json.Marshal(cl.in)
		if err != nil {
			return fmt.Errorf("MLflow %s: encode request: %w", cl.endpoint, err)
		}
		body = b
	}
	u := c.url("/api/2.0/mlflow/"+cl.endpoint, cl.query)
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, cl.method, u, bytes.NewReader(body))
		if err == nil && body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	if cl.once {
		return c.attempt(ctx, cl.endpoint, c.timeout, newReq, cl.out)
	}
	return c.retry(ctx, cl.endpoint, c.timeout, newReq, cl.out)
}

// retry sends the request newReq builds until it succeeds, fails for
// good, or the retries are used up; out receives the JSON response. Each
// attempt has timeout (0: only ctx bounds it).
func (c *client) retry(ctx context.Context, endpoint string, timeout time.Duration, newReq func(context.Context) (*http.Request, error), out any) error {
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, endpoint, timeout, newReq, out)
		if err == nil || !retriable(err) || ctx.Err() != nil || attempt == len(c.backoff) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.backoff[attempt]):
		}
	}
}

// attempt does one request and decodes its answer.
func (c *client) attempt(ctx context.Context, endpoint string, timeout time.Duration, newReq func(context.Context) (*http.Request, error), out any) error {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	req, err := newReq(actx)
	if err != nil {
		return fmt.Errorf("MLflow %s: %w", endpoint, err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	req.Header.Set("User-Agent", "magelab")
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case actx.Err() != nil:
			return fmt.Errorf("MLflow %s: no answer from %s in %s (%s raises the limit)", endpoint, c.server(), timeout, EnvTimeout)
		}
		return &UnreachableError{Server: c.server(), Err: transportCause(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Server: c.server(), Err: fmt.Errorf("reading the answer to %s: %w", endpoint, err)}
	}
	if resp.StatusCode/100 != 2 {
		return apiError(endpoint, c.server(), resp.StatusCode, b)
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("MLflow %s: the answer from %s is not MLflow's JSON (is it an MLflow tracking server?): %w: %.200s", endpoint, c.server(), err, b)
	}
	return nil
}

// apiError reads MLflow's {"error_code", "message"} body, or keeps the
// start of whatever else the server (or a proxy before it) answered.
func apiError(endpoint, server string, status int, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, Status: status, Server: server}
	var m struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && (m.Code != "" || m.Message != "") {
		e.Code, e.Message = m.Code, m.Message
		return e
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	e.Message = text
	return e
}

// retriable reports whether a retry may cure err: the connection failed,
// the server is overloaded or failed inside (5xx, 429).
func retriable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	}
	var ue *UnreachableError
	return errors.As(err, &ue)
}

// transportCause is the part of a transport error worth showing: "dial tcp
// 127.0.0.1:5000: connect: connection refused", without Go's "Post URL:"
// wrapping.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("connection refused (%s)", oe.Addr)
	}
	return err
}

// url is the server's address of path with query.
func (c *client) url(path string, query url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// server is the server's address as messages show it.
func (c *client) server() string { return c.base.String() }
