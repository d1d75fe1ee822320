package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// The few fields of TensorFlow's protobuf messages that scalars need
// (tensorflow/core/util/event.proto, core/framework/summary.proto and
// tensor.proto); everything else is skipped unread.
const (
	eventStep    = 2 // int64
	eventSummary = 5 // Summary

	summaryValue = 1 // repeated Summary.Value

	valueTag      = 1 // string
	valueSimple   = 2 // float: add_scalar of torch and TF1
	valueTensor   = 8 // TensorProto: tf.summary.scalar of TF2
	valueMetadata = 9 // SummaryMetadata

	metadataPlugin    = 1 // PluginData
	metadataDataClass = 4 // enum DataClass
	pluginName        = 1 // string

	dataClassScalar = 1

	tensorDtype   = 1  // enum DataType
	tensorShape   = 2  // TensorShapeProto
	tensorContent = 4  // bytes, little-endian
	tensorFloat   = 5  // repeated float
	tensorDouble  = 6  // repeated double
	tensorInt     = 7  // repeated int32
	tensorInt64   = 10 // repeated int64
	tensorHalf    = 13 // repeated int32 holding half or bfloat16 bits
	shapeDim      = 2  // repeated Dim

	dtFloat, dtDouble, dtInt32, dtInt64, dtBfloat16, dtHalf = 1, 2, 3, 9, 14, 19
)

// Point is one scalar of a series.
type Point struct {
	Step  int64
	Value float64
}

// EventFile is the scalar series of one event file, by tag in the order
// they first appear; Warning says why the file was not read to its end.
type EventFile struct {
	Tags    []string
	Series  map[string][]Point
	Warning string
}

// ReadEventFile reads the scalars of a TensorBoard event file. A torn last
// record (the writer was killed) or a CRC mismatch ends the reading with a
// Warning and keeps what came before it; only an unreadable file is an
// error.
func ReadEventFile(path string) (*EventFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ef := &EventFile{Series: map[string][]Point{}}
	index := map[string]int{} // tag → its series in all
	var all [][]Point
	err = readEvents(f, func(tag []byte, step int64, v float64) {
		i, ok := index[string(tag)] // no allocation for the lookup
		if !ok {
			i = len(all)
			index[string(tag)] = i
			ef.Tags = append(ef.Tags, string(tag))
			all = append(all, nil)
		}
		all[i] = append(all[i], Point{step, v})
	})
	for i, tag := range ef.Tags {
		ef.Series[tag] = all[i]
	}
	var corrupt *CorruptError
	switch {
	case errors.Is(err, ErrTorn):
		ef.Warning = fmt.Sprintf("%s: the last record is torn (the writer was killed or is still writing): skipped", path)
	case errors.As(err, &corrupt), errors.Is(err, errBadEvent):
		ef.Warning = fmt.Sprintf("%s: %v: the rest of the file is skipped", path, err)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ef, nil
}

var errBadEvent = errors.New("malformed Event message")

// readEvents calls emit for every scalar in the event records of r, in
// file order; the tag's bytes are valid only during the call.
func readEvents(r io.Reader, emit func(tag []byte, step int64, v float64)) error {
	rr := newRecordReader(r)
	scalarTags := map[string]bool{} // tags whose metadata says they are scalars
	for {
		at := rr.offset
		data, err := rr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := decodeEvent(data, scalarTags, emit); err != nil {
			return fmt.Errorf("record at byte %d: %w", at, err)
		}
	}
}

// decodeEvent reads one Event message.
func decodeEvent(b []byte, scalarTags map[string]bool, emit func([]byte, int64, float64)) error {
	var step int64
	var summary []byte
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		switch {
		case f.num == eventStep && f.typ == protowire.VarintType:
			step = int64(f.x)
		case f.num == eventSummary && f.typ == protowire.BytesType:
			summary = f.v
		}
	}
	for len(summary) > 0 {
		f, rest, err := nextField(summary)
		if err != nil {
			return err
		}
		summary = rest
		if f.num == summaryValue && f.typ == protowire.BytesType {
			if tag, val, ok := decodeValue(f.v, scalarTags); ok {
				emit(tag, step, val)
			}
		}
	}
	return nil
}

// decodeValue reads one Summary.Value: a simple_value, or a scalar tensor
// of a tag whose metadata (on this value or an earlier one) names the
// scalars plugin or the scalar data class.
func decodeValue(b []byte, scalarTags map[string]bool) ([]byte, float64, bool) {
	var tag, tensor, metadata []byte
	var simple float64
	hasSimple := false
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return nil, 0, false
		}
		b = rest
		switch {
		case f.num == valueTag && f.typ == protowire.BytesType:
			tag = f.v
		case f.num == valueSimple && f.typ == protowire.Fixed32Type:
			simple, hasSimple = float64(math.Float32frombits(uint32(f.x))), true
		case f.num == valueTensor && f.typ == protowire.BytesType:
			tensor = f.v
		case f.num == valueMetadata && f.typ == protowire.BytesType:
			metadata = f.v
		}
	}
	if metadata != nil && isScalarMetadata(metadata) {
		scalarTags[string(tag)] = true
	}
	switch {
	case hasSimple:
		return tag, simple, true
	case tensor != nil && scalarTags[string(tag)]:
		v, ok := scalarTensor(tensor)
		return tag, v, ok
	}
	return nil, 0, false
}

// field is one field of a protobuf message: v is a length-delimited
// field's bytes, x a varint's or fixed field's value.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   []byte
	x   uint64
}

// nextField reads the first field of b and returns the rest. Groups are
// skipped whole (their typ is StartGroupType). A malformed message is
// errBadEvent.
func nextField(b []byte) (field, []byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, errBadEvent
	}
	b = b[n:]
	f := field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(b)
	case protowire.Fixed32Type:
		var u uint32
		u, n = protowire.ConsumeFixed32(b)
		f.x = uint64(u)
	case protowire.Fixed64Type:
		f.x, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		f.v, n = protowire.ConsumeBytes(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return field{}, nil, errBadEvent
	}
	return f, b[n:], nil
}

func isScalarMetadata(b []byte) bool {
	scalar := false
	eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == metadataDataClass && typ == protowire.VarintType:
			scalar = scalar || x == dataClassScalar
		case num == metadataPlugin && typ == protowire.BytesType:
			eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
				if num == pluginName && typ == protowire.BytesType && string(v) == "scalars" {
					scalar = true
				}
			})
		}
	})
	return scalar
}

// scalarTensor reads a TensorProto holding one number: of shape [] (or
// one element), float, double, int32, int64, half or bfloat16, in the
// typed repeated field or in tensor_content.
func scalarTensor(b []byte) (float64, bool) {
	var dtype uint64
	var content []byte
	var vals []float64
	elements := 1
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch num {
		case tensorDtype:
			dtype = x
		case tensorShape:
			eachField(v, func(num protowire.Number, typ protowire.Type, d []byte, _ uint64) {
				if num == shapeDim {
					eachField(d, func(num protowire.Number, _ protowire.Type, _ []byte, size uint64) {
						if num == 1 {
							elements *= int(size)
						}
					})
				}
			})
		case tensorContent:
			content = v
		case tensorFloat, tensorDouble, tensorInt, tensorInt64, tensorHalf:
			vals = append(vals, repeated(num, typ, v, x, dtype)...)
		}
	})
	if err != nil || elements != 1 {
		return 0, false
	}
	if len(vals) == 1 {
		return vals[0], true
	}
	return contentScalar(content, dtype)
}

// repeated decodes the numbers of one occurrence of a repeated numeric
// field, packed or not.
func repeated(num protowire.Number, typ protowire.Type, v []byte, x uint64, dtype uint64) []float64 {
	conv := func(x uint64) float64 {
		switch num {
		case tensorFloat:
			return float64(math.Float32frombits(uint32(x)))
		case tensorDouble:
			return math.Float64frombits(x)
		case tensorInt:
			return float64(int32(x))
		case tensorHalf:
			if dtype == dtBfloat16 {
				return float64(math.Float32frombits(uint32(x) << 16))
			}
			return halfToFloat(uint16(x))
		}
		return float64(int64(x))
	}
	if typ != protowire.BytesType {
		return []float64{conv(x)}
	}
	var out []float64
	for len(v) > 0 {
		var x uint64
		var n int
		switch num {
		case tensorFloat:
			var u uint32
			u, n = protowire.ConsumeFixed32(v)
			x = uint64(u)
		case tensorDouble:
			x, n = protowire.ConsumeFixed64(v)
		default:
			x, n = protowire.ConsumeVarint(v)
		}
		if n < 0 {
			return out
		}
		out = append(out, conv(x))
		v = v[n:]
	}
	return out
}

// contentScalar reads a scalar from tensor_content's raw little-endian bytes.
func contentScalar(b []byte, dtype uint64) (float64, bool) {
	switch {
	case dtype == dtFloat && len(b) == 4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), true
	case dtype == dtDouble && len(b) == 8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), true
	case dtype == dtInt32 && len(b) == 4:
		return float64(int32(binary.LittleEndian.Uint32(b))), true
	case dtype == dtInt64 && len(b) == 8:
		return float64(int64(binary.LittleEndian.Uint64(b))), true
	case dtype == dtHalf && len(b) == 2:
		return halfToFloat(binary.LittleEndian.Uint16(b)), true
	case dtype == dtBfloat16 && len(b) == 2:
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)), true
	}
	return 0, false
}

// halfToFloat converts IEEE 754 half-precision bits.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// eachField calls fn for every field of a protobuf message but groups;
// the rarely met messages (metadata, tensors) are read with it.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) error {
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		if f.typ != protowire.StartGroupType {
			fn(f.num, f.typ, f.v, f.x)
		}
	}
	return nil
}

// isEventFile reports whether name is a TensorBoard event file's.
func isEventFile(name string) bool {
	return strings.HasPrefix(name, "events.out.tfevents.")
}
