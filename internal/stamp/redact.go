package stamp

import (
	"net/url"
	"regexp"
	"strings"
)

// RedactURL removes the credentials from a remote URL.
//
// For scheme URLs (https://, ssh://, git://, ...) the user info before the
// last '@' of the authority goes: all of it for every scheme but ssh, whose
// bare user name (ssh://git@host/x) is no secret and stays while a password
// goes. The query and fragment go too, since tokens ride there
// (?private_token=...). For the scp-like form (user@host:path) a bare user
// name stays and a password goes. Local paths (/srv/x.git, ../x, file:///x)
// come back unchanged. Anything else holding an '@' before its first '/' is
// returned with everything up to that '@' removed.
//
// The authority ends at the first '/', so a password holding a raw '/' is
// cut short; git itself cannot use such a URL, which needs %2F.
func RedactURL(u string) string {
	out, _ := splitCredentials(u)
	return out
}

// splitCredentials returns u redacted as RedactURL does, and the secrets
// it removed that look worth hunting for in files: a password, or a user
// name long enough to be a token given as the user (https://<token>@host).
func splitCredentials(u string) (string, []string) {
	if i := strings.Index(u, "://"); i > 0 && isScheme(u[:i]) {
		return splitSchemeURL(u[:i], u[i+3:])
	}
	if isLocalPath(u) {
		return u, nil
	}
	head := u
	if i := strings.IndexByte(u, '/'); i >= 0 {
		head = u[:i]
	}
	at := strings.LastIndexByte(head, '@')
	if at < 0 {
		return u, nil
	}
	user, pass, hasPass := strings.Cut(u[:at], ":")
	rest := u[at+1:]
	secrets := secretsOf(user, pass, hasPass)
	if strings.Contains(rest, ":") && user != "" { // scp-like: user@host:path
		return user + "@" + rest, secrets
	}
	if !hasPass {
		secrets = secretsOf("", user, true) // unparseable: all of it may be secret
	}
	return rest, secrets
}

// splitSchemeURL redacts scheme://rest.
func splitSchemeURL(scheme, rest string) (string, []string) {
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		end = len(rest)
	}
	var kept string
	var secrets []string
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(rest[:at], ":")
		secrets = secretsOf(user, pass, hasPass)
		if strings.Contains(strings.ToLower(scheme), "ssh") && user != "" {
			kept = user + "@"
			if hasPass {
				secrets = secretsOf("", pass, true)
			} else {
				secrets = nil
			}
		}
		rest = rest[at+1:]
	}
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	return scheme + "://" + kept + rest, secrets
}

// secretsOf picks what of user:pass to look for in saved files, both as
// written in the URL and percent-decoded. Short strings would match
// everywhere and are left out; so is a short user name, which is an
// account, not a token.
func secretsOf(user, pass string, hasPass bool) []string {
	cand, minLen := pass, 4
	if !hasPass {
		cand, minLen = user, 20
	}
	if len(cand) < minLen {
		return nil
	}
	out := []string{cand}
	if dec, err := url.PathUnescape(cand); err == nil && dec != cand {
		out = append(out, dec)
	}
	return out
}

// isScheme reports whether s is a URL scheme (RFC 3986: ALPHA *( ALPHA /
// DIGIT / "+" / "-" / "." )).
func isScheme(s string) bool {
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// isLocalPath reports whether u is a path as git reads remotes: it starts
// like one, or has neither ':' nor '@' before its first '/'.
func isLocalPath(u string) bool {
	if strings.HasPrefix(u, "/") || strings.HasPrefix(u, ".") || strings.HasPrefix(u, "~") {
		return true
	}
	if len(u) >= 3 && u[1] == ':' && (u[2] == '\\' || u[2] == '/') { // C:\repo
		return true
	}
	head := u
	if i := strings.IndexByte(u, '/'); i >= 0 {
		head = u[:i]
	}
	return !strings.ContainsAny(head, ":@")
}

// urlPattern finds scheme URLs in free text (warnings, error messages).
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// redactText redacts every scheme URL in s and replaces each secret by
// REDACTED.
func redactText(s string, secrets []string) string {
	s = urlPattern.ReplaceAllStringFunc(s, RedactURL)
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, redactedMark)
	}
	return s
}

// redactedMark stands in for a secret found in a saved file or a message.
const redactedMark = "REDACTED"
