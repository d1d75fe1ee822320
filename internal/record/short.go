package record

// ShortIDLen is how many characters of a run id's end a listing shows:
// the random end of a UUIDv7, whose start is a timestamp that runs made
// close together share.
const ShortIDLen = 8

// ShortID is the end of a run id as listings show it.
func ShortID(id string) string { return id[max(0, len(id)-ShortIDLen):] }

// ShortSHA is a commit as listings and messages show it: its first seven
// hex digits, as git abbreviates.
func ShortSHA(sha string) string { return sha[:min(len(sha), 7)] }

// ShortKey is a content key or hash (a stage key, a requirements hash) as
// messages show it: its first twelve hex digits.
func ShortKey(key string) string { return key[:min(len(key), 12)] }
