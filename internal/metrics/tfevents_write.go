package metrics

import (
	"bufio"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// EventWriter writes scalars as a TensorBoard event file: the same records
// torch's SummaryWriter.add_scalar writes (a file_version event first, then
// one Event per scalar with a simple_value). Tests and the benchmark make
// their event files with it.
type EventWriter struct {
	w   *bufio.Writer
	buf []byte
	msg []byte
}

// NewEventWriter starts an event file on w with its file_version event.
func NewEventWriter(w io.Writer) *EventWriter {
	ew := &EventWriter{w: bufio.NewWriterSize(w, 1<<20)}
	ev := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(0))
	ev = protowire.AppendTag(ev, 3, protowire.BytesType)
	ev = protowire.AppendString(ev, "brain.Event:2")
	ew.write(ev)
	return ew
}

// Scalar writes one scalar event.
func (ew *EventWriter) Scalar(wall float64, step int64, tag string, v float32) error {
	val := protowire.AppendTag(ew.msg[:0], valueTag, protowire.BytesType)
	val = protowire.AppendString(val, tag)
	val = protowire.AppendTag(val, valueSimple, protowire.Fixed32Type)
	val = protowire.AppendFixed32(val, math.Float32bits(v))
	ew.msg = val
	sum := protowire.AppendTag(nil, summaryValue, protowire.BytesType)
	sum = protowire.AppendBytes(sum, val)
	ev := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(wall))
	ev = protowire.AppendTag(ev, eventStep, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, eventSummary, protowire.BytesType)
	ev = protowire.AppendBytes(ev, sum)
	return ew.write(ev)
}

func (ew *EventWriter) write(ev []byte) error {
	ew.buf = appendRecord(ew.buf[:0], ev)
	_, err := ew.w.Write(ew.buf)
	return err
}

// Flush writes what is buffered.
func (ew *EventWriter) Flush() error { return ew.w.Flush() }
