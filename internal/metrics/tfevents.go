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
	err = readEvents(f, func(tag string, step int64, v float64) {
		s, ok := ef.Series[tag]
		if !ok {
			ef.Tags = append(ef.Tags, tag)
		}
		ef.Series[tag] = append(s, Point{step, v})
	})
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
// file order.
func readEvents(r io.Reader, emit func(tag string, step int64, v float64)) error {
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
func decodeEvent(b []byte, scalarTags map[string]bool, emit func(string, int64, float64)) error {
	var step int64
	var summary []byte
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == eventStep && typ == protowire.VarintType:
			step = int64(x)
		case num == eventSummary && typ == protowire.BytesType:
			summary = v
		}
	})
	if err != nil || summary == nil {
		return err
	}
	return eachField(summary, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num == summaryValue && typ == protowire.BytesType {
			if tag, val, ok := decodeValue(v, scalarTags); ok {
				emit(tag, step, val)
			}
		}
	})
}

// decodeValue reads one Summary.Value: a simple_value, or a scalar tensor
// of a tag whose metadata (on this value or an earlier one) names the
// scalars plugin or the scalar data class.
func decodeValue(b []byte, scalarTags map[string]bool) (string, float64, bool) {
	var tag string
	var simple *float64
	var tensor, metadata []byte
	if eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == valueTag && typ == protowire.BytesType:
			tag = string(v)
		case num == valueSimple && typ == protowire.Fixed32Type:
			f := float64(math.Float32frombits(uint32(x)))
			simple = &f
		case num == valueTensor && typ == protowire.BytesType:
			tensor = v
		case num == valueMetadata && typ == protowire.BytesType:
			metadata = v
		}
	}) != nil {
		return "", 0, false
	}
	if metadata != nil && isScalarMetadata(metadata) {
		scalarTags[tag] = true
	}
	switch {
	case simple != nil:
		return tag, *simple, true
	case tensor != nil && scalarTags[tag]:
		v, ok := scalarTensor(tensor)
		return tag, v, ok
	}
	return "", 0, false
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

// eachField calls fn for every field of a protobuf message: v is a
// length-delimited field's bytes, x a varint's or fixed field's value.
// Groups are skipped. A malformed message is errBadEvent.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadEvent
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errBadEvent
		}
		b = b[n:]
		if typ != protowire.StartGroupType {
			fn(num, typ, v, x)
		}
	}
	return nil
}

// isEventFile reports whether name is a TensorBoard event file's.
func isEventFile(name string) bool {
	return strings.HasPrefix(name, "events.out.tfevents.")
}
