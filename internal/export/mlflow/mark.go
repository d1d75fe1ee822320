package mlflow

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"strings"
)

// mark is the magelab.export tag, the last thing an export writes for a
// run: digests of its data (params, tags, metrics, status, end) and of its
// files, as "v1 data=… files=…". A run whose mark is what would be sent now
// is up to date; the two halves tell which of the two changed.
type mark struct {
	Data, Files string
}

const markVersion = "v1"

func (m mark) String() string { return markVersion + " data=" + m.Data + " files=" + m.Files }

// parseMark reads a mark; anything else (no tag, another version) is the
// zero mark, which matches nothing.
func parseMark(s string) mark {
	f := strings.Fields(s)
	if len(f) != 3 || f[0] != markVersion {
		return mark{}
	}
	data, ok1 := strings.CutPrefix(f[1], "data=")
	files, ok2 := strings.CutPrefix(f[2], "files=")
	if !ok1 || !ok2 {
		return mark{}
	}
	return mark{Data: data, Files: files}
}

// markOf is the mark of t with its tags as sent (tags includes the parent
// run's id, which is only known when syncing).
func markOf(t target, tags []kv) mark {
	d := sha256.New()
	str(d, t.Status)
	num(d, uint64(t.End))
	num(d, uint64(len(t.Params)))
	for _, p := range t.Params {
		str(d, p.Key)
		str(d, p.Value)
	}
	num(d, uint64(len(tags)))
	for _, tg := range tags {
		str(d, tg.Key)
		str(d, tg.Value)
	}
	num(d, uint64(len(t.Metrics)))
	for _, m := range t.Metrics {
		str(d, m.Key)
		num(d, math.Float64bits(float64(m.Value)))
		num(d, uint64(m.Timestamp))
		num(d, uint64(m.Step))
	}
	f := sha256.New()
	num(f, uint64(len(t.Files)))
	for _, x := range t.Files {
		str(f, x.Path)
		num(f, uint64(x.Size))
		str(f, x.Sum)
	}
	return mark{Data: short(d), Files: short(f)}
}

func str(h hash.Hash, s string) {
	num(h, uint64(len(s)))
	h.Write([]byte(s))
}

func num(h hash.Hash, n uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	h.Write(b[:])
}

func short(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil))[:16] }
