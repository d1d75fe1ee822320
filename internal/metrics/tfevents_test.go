package metrics

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestTorchEventFiles reads the event files torch's SummaryWriter wrote
// (testdata/torch-gen.py): simple values, new-style tensors in float and
// double, add_scalars' directories; histograms and text are no scalars.
func TestTorchEventFiles(t *testing.T) {
	ef, err := ReadEventFile(onlyEventFile(t, "testdata/torch"))
	require.NoError(t, err)
	assert.Empty(t, ef.Warning)
	assert.Equal(t, []string{"Loss/train", "Loss/test", "lr", "acc64"}, ef.Tags)
	f32 := func(v float64) float64 { return float64(float32(v)) }
	assert.Equal(t, []Point{{0, 2.5}, {1, 2.25}, {2, 2}, {3, 1.75}, {4, 1.5}}, ef.Series["Loss/train"])
	assert.Equal(t, []Point{{0, f32(2.6)}, {2, f32(2.2)}, {4, f32(1.8)}}, ef.Series["Loss/test"])
	require.Len(t, ef.Series["lr"], 5)
	assert.Equal(t, Point{4, f32(6.25e-5)}, ef.Series["lr"][4])
	require.Len(t, ef.Series["acc64"], 5)
	assert.Equal(t, Point{3, 0.30000000100000007}, ef.Series["acc64"][3], "a double-precision tensor keeps its double (Python's 0.1*3 + 1e-9)")

	sub, err := ReadEventFile(onlyEventFile(t, "testdata/torch/loss_parts_ce"))
	require.NoError(t, err)
	assert.Equal(t, []string{"loss_parts"}, sub.Tags)
	assert.Equal(t, Point{3, f32(0.25)}, sub.Series["loss_parts"][3])
}

func onlyEventFile(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	require.NoError(t, err)
	require.Len(t, m, 1)
	return m[0]
}

// eventFile writes n steps of the given tags with EventWriter.
func eventFile(t testing.TB, path string, steps int, tags ...string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	w := NewEventWriter(f)
	for s := range steps {
		for i, tag := range tags {
			require.NoError(t, w.Scalar(1.7e9+float64(s), int64(s), tag, float32(i)+float32(s)/10))
		}
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

func TestTornAndCorruptRecords(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "events.out.tfevents.1.host")
	eventFile(t, whole, 3, "loss")
	b, err := os.ReadFile(whole)
	require.NoError(t, err)
	// The last record is 12 + len + 4 bytes; cut anywhere inside it.
	last := lastRecordStart(t, b)
	for _, cut := range []int{last + 1, last + 8, last + 12, last + 20, len(b) - 1} {
		p := filepath.Join(dir, "torn")
		require.NoError(t, os.WriteFile(p, b[:cut], 0o644))
		ef, err := ReadEventFile(p)
		require.NoError(t, err)
		assert.Contains(t, ef.Warning, "last record is torn", "cut at %d", cut)
		assert.Equal(t, []Point{{0, 0}, {1, float64(float32(0.1))}}, ef.Series["loss"], "cut at %d: the records before it are kept", cut)
	}
	t.Run("DataCRCMismatch", func(t *testing.T) {
		bad := bytes.Clone(b)
		bad[last+14] ^= 0xff
		p := filepath.Join(dir, "bad-data")
		require.NoError(t, os.WriteFile(p, bad, 0o644))
		ef, err := ReadEventFile(p)
		require.NoError(t, err)
		assert.Contains(t, ef.Warning, "data CRC mismatch")
		assert.Len(t, ef.Series["loss"], 2)
	})
	t.Run("LengthCRCMismatch", func(t *testing.T) {
		bad := bytes.Clone(b)
		bad[last+9] ^= 0x01
		p := filepath.Join(dir, "bad-length")
		require.NoError(t, os.WriteFile(p, bad, 0o644))
		ef, err := ReadEventFile(p)
		require.NoError(t, err)
		assert.Contains(t, ef.Warning, "length CRC mismatch")
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := ReadEventFile(filepath.Join(dir, "none"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

// lastRecordStart walks the records of b to the start of the last one.
func lastRecordStart(t *testing.T, b []byte) int {
	t.Helper()
	at := 0
	for {
		n := 12 + int(uint64(b[at])|uint64(b[at+1])<<8|uint64(b[at+2])<<16|uint64(b[at+3])<<24) + 4
		if at+n >= len(b) {
			return at
		}
		at += n
	}
}

func TestMaskedCRC(t *testing.T) {
	// The CRC-32C check value, through the mask and back; the torch
	// fixture passing its checks shows the mask is TensorFlow's.
	assert.Equal(t, uint32(0xe3069283), crcUnmasked([]byte("123456789")), "CRC-32C check value")
	assert.NotEqual(t, crcUnmasked([]byte("foo")), maskedCRC([]byte("foo")))
}

func crcUnmasked(b []byte) uint32 {
	m := maskedCRC(b) - 0xa282ead8
	return m<<15 | m>>17
}

func TestScalarTensors(t *testing.T) {
	scalarMeta := protowire.AppendTag(nil, metadataPlugin, protowire.BytesType)
	scalarMeta = protowire.AppendBytes(scalarMeta, protowire.AppendString(protowire.AppendTag(nil, pluginName, protowire.BytesType), "scalars"))
	tensor := func(dtype uint64, field protowire.Number, typ protowire.Type, payload []byte) []byte {
		b := protowire.AppendTag(nil, tensorDtype, protowire.VarintType)
		b = protowire.AppendVarint(b, dtype)
		b = protowire.AppendTag(b, field, typ)
		if typ == protowire.BytesType {
			return protowire.AppendBytes(b, payload)
		}
		return append(b, payload...)
	}
	tests := []struct {
		name   string
		tensor []byte
		want   float64
	}{
		{"PackedFloat", tensor(dtFloat, tensorFloat, protowire.BytesType, protowire.AppendFixed32(nil, math.Float32bits(0.5))), 0.5},
		{"PackedDouble", tensor(dtDouble, tensorDouble, protowire.BytesType, protowire.AppendFixed64(nil, math.Float64bits(0.25))), 0.25},
		{"Int64", tensor(dtInt64, tensorInt64, protowire.VarintType, protowire.AppendVarint(nil, 7)), 7},
		{"ContentFloat", tensor(dtFloat, tensorContent, protowire.BytesType, []byte{0, 0, 0x80, 0x3f}), 1},
		{"Half", tensor(dtHalf, tensorHalf, protowire.VarintType, protowire.AppendVarint(nil, 0x3c00)), 1},
		{"Bfloat16", tensor(dtBfloat16, tensorHalf, protowire.VarintType, protowire.AppendVarint(nil, 0x3f80)), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			val := protowire.AppendString(protowire.AppendTag(nil, valueTag, protowire.BytesType), "m")
			val = protowire.AppendBytes(protowire.AppendTag(val, valueMetadata, protowire.BytesType), scalarMeta)
			val = protowire.AppendBytes(protowire.AppendTag(val, valueTensor, protowire.BytesType), tc.tensor)
			tagb, v, ok := decodeValue(val, map[string]bool{})
			tag := string(tagb)
			require.True(t, ok)
			assert.Equal(t, "m", tag)
			assert.Equal(t, tc.want, v)
		})
	}
	t.Run("TensorOfAnotherPlugin", func(t *testing.T) {
		val := protowire.AppendString(protowire.AppendTag(nil, valueTag, protowire.BytesType), "text")
		val = protowire.AppendBytes(protowire.AppendTag(val, valueTensor, protowire.BytesType), tests[0].tensor)
		_, _, ok := decodeValue(val, map[string]bool{})
		assert.False(t, ok, "a tensor without scalar metadata is not a scalar")
	})
}

func TestHalfToFloat(t *testing.T) {
	assert.Equal(t, 1.0, halfToFloat(0x3c00))
	assert.Equal(t, -2.0, halfToFloat(0xc000))
	assert.Equal(t, 65504.0, halfToFloat(0x7bff))
	assert.Equal(t, math.Ldexp(1, -24), halfToFloat(0x0001))
	assert.True(t, math.IsInf(halfToFloat(0x7c00), 1))
	assert.True(t, math.IsNaN(halfToFloat(0x7e00)))
}

// FuzzReadEvents feeds arbitrary bytes, framed and not, to the reader: it
// must never panic nor loop, whatever the file holds.
func FuzzReadEvents(f *testing.F) {
	b, err := os.ReadFile(onlyEventFileF(f, "testdata/torch"))
	require.NoError(f, err)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(appendRecord(nil, []byte{0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'x'}))
	f.Fuzz(func(t *testing.T, data []byte) {
		readEvents(bytes.NewReader(data), func([]byte, int64, float64) {})
		// The same bytes as one record's payload reach the protobuf decoding.
		readEvents(bytes.NewReader(appendRecord(nil, data)), func([]byte, int64, float64) {})
	})
}

func onlyEventFileF(f *testing.F, dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	require.Len(f, m, 1)
	return m[0]
}
