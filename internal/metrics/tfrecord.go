package metrics

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A TFRecord file is a sequence of records, each
//
//	uint64 length (little-endian)
//	uint32 masked CRC-32C of the 8 length bytes
//	byte   data[length]
//	uint32 masked CRC-32C of data
//
// as TensorFlow's record_writer.cc writes them and TensorBoard's event
// files are made of.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC-32C of b: the CRC rotated right by 15
// bits plus a constant, so that a CRC of data holding CRCs stays useful.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// maxRecord caps one record's length: a length past it is corruption, not
// an event (TensorBoard's largest events, images, stay far below).
const maxRecord = 1 << 30

// ErrTorn is a record cut short by the end of the file: the writer was
// killed or is still writing it.
var ErrTorn = errors.New("torn record at the end of the file")

// CorruptError is a record whose length or data fails its CRC check.
type CorruptError struct {
	Offset int64
	What   string // "length" or "data"
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("record at byte %d: %s CRC mismatch", e.Offset, e.What)
}

// recordReader reads TFRecord records, reusing one buffer.
type recordReader struct {
	r      *bufio.Reader
	buf    []byte
	offset int64 // of the next record
}

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next record's data, valid until the following call;
// io.EOF at a clean end, ErrTorn when the file ends inside a record, a
// *CorruptError on a CRC mismatch. A record that fits the read buffer is
// not copied out of it.
func (rr *recordReader) next() ([]byte, error) {
	head, err := rr.r.Peek(12)
	switch {
	case len(head) == 0 && err == io.EOF:
		return nil, io.EOF
	case len(head) < 12 && err == io.EOF:
		return nil, ErrTorn
	case len(head) < 12:
		return nil, err
	}
	if maskedCRC(head[:8]) != binary.LittleEndian.Uint32(head[8:]) {
		return nil, &CorruptError{Offset: rr.offset, What: "length"}
	}
	length := binary.LittleEndian.Uint64(head[:8])
	if length > maxRecord {
		return nil, &CorruptError{Offset: rr.offset, What: "length"}
	}
	total := 12 + int(length) + 4
	var rec []byte
	if total <= rr.r.Size() {
		rec, err = rr.r.Peek(total)
		if len(rec) < total {
			if err == io.EOF {
				return nil, ErrTorn
			}
			return nil, err
		}
		rr.r.Discard(total)
	} else {
		if err := rr.fill(total); err != nil {
			return nil, err
		}
		rec = rr.buf
	}
	data := rec[12 : 12+length]
	if maskedCRC(data) != binary.LittleEndian.Uint32(rec[12+length:]) {
		return nil, &CorruptError{Offset: rr.offset, What: "data"}
	}
	rr.offset += int64(total)
	return data, nil
}

// fill reads the next n bytes into buf. The buffer grows by at most a
// chunk ahead of the bytes read, so that a corrupt length that passed its
// CRC by chance cannot make it allocate a gigabyte for a small file.
func (rr *recordReader) fill(n int) error {
	const chunk = 1 << 20
	rr.buf = rr.buf[:0]
	for len(rr.buf) < n {
		m := min(n-len(rr.buf), chunk)
		if cap(rr.buf)-len(rr.buf) < m {
			rr.buf = append(rr.buf[:cap(rr.buf)], make([]byte, m)...)[:len(rr.buf)]
		}
		got, err := io.ReadFull(rr.r, rr.buf[len(rr.buf):len(rr.buf)+m])
		rr.buf = rr.buf[:len(rr.buf)+got]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return ErrTorn
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// appendRecord appends data framed as one TFRecord record to b.
func appendRecord(b, data []byte) []byte {
	var head [12]byte
	binary.LittleEndian.PutUint64(head[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(head[8:], maskedCRC(head[:8]))
	b = append(b, head[:]...)
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, maskedCRC(data))
}
