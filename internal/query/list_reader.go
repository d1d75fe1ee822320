package query

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/magelab/magelab/internal/record"
)

// blockSize is how much of the ledger is read at a time, from the end
// backwards: large enough that syscalls cost nothing, small enough that
// memory stays flat.
const blockSize = 1 << 20

// lineRef is where a line lies in the ledger, to read it again.
type lineRef struct {
	off int64
	n   int32
}

// readBackwards calls fn for each non-empty line of f, last line first,
// with the line's offset; fn returns false to stop. The slice passed to fn
// is only valid during the call. A last line without its newline (a torn
// write) is passed like any other: fn decides whether it reads. A line
// longer than record.MaxEventLine is skipped, and never held whole.
func readBackwards(f *os.File, fn func(line []byte, off int64) bool) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var (
		buf    = make([]byte, blockSize)
		carry  []byte // the end of a line that began before the block just read
		long   int    // > 0: that line is longer than record.MaxEventLine; this much of it was dropped
		starts []int
		end    = st.Size()
	)
	for end > 0 {
		start := max(0, end-blockSize)
		n := int(end - start)
		if _, err := f.ReadAt(buf[:n], start); err != nil && err != io.EOF {
			return fmt.Errorf("read %s: %w", f.Name(), err)
		}
		data := append(buf[:n], carry...)
		buf = data[:cap(data)] // keep a buffer that grew for a long line
		starts = starts[:0]
		first := 0
		if start > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 { // the whole block is inside one line
				if long == 0 && len(data) <= record.MaxEventLine {
					carry = append(carry[:0], data...)
				} else {
					long, carry = long+len(data), carry[:0]
				}
				end = start
				continue
			}
			first = i + 1
		}
		starts = append(starts, first)
		for i := first; ; {
			j := bytes.IndexByte(data[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			starts = append(starts, i)
		}
		for k := len(starts) - 1; k >= 0; k-- {
			lo, hi := starts[k], len(data)
			if k+1 < len(starts) {
				hi = starts[k+1] - 1 // drop the newline
			}
			if k == len(starts)-1 && (long > 0 || hi-lo > record.MaxEventLine) {
				long = 0
				continue // the start of a line too long to read
			}
			line := bytes.TrimSpace(data[lo:hi])
			if len(line) == 0 {
				continue
			}
			off := start + int64(lo) + int64(len(data[lo:hi])-len(bytes.TrimLeft(data[lo:hi], " \t\r\n")))
			if !fn(line, off) {
				return nil
			}
		}
		carry = append(carry[:0], data[:max(first-1, 0)]...)
		end = start
	}
	return nil
}

// readLine reads the line at r again.
func readLine(f *os.File, r lineRef, buf []byte) ([]byte, error) {
	if cap(buf) < int(r.n) {
		buf = make([]byte, r.n)
	}
	buf = buf[:r.n]
	if _, err := f.ReadAt(buf, r.off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return buf, nil
}

// chunk is one block of the ledger, split into lines and, except for
// run.started lines, decoded by a worker.
type chunk struct {
	k      int   // block index from the end of the file
	start  int64 // file offset of data[0]
	data   []byte
	whole  bool   // no newline: the block lies inside one line
	head   []byte // before the first newline: the end of a line begun in the block before
	tail   []byte // after the last newline: the start of a line that ends in the next block
	recs   []rec  // the lines in between, last first
	starts []int
	vals   []lineVals // of the lines decoded, nvals of them
	nvals  int
	seen   []bool // per slot: some decoded line had the name
	err    error
	slots  int
	metric []float64 // backing arrays of vals
	has    []bool
	param  [][]byte
	hasP   []bool
}

type recKind uint8

const (
	recBad     recKind = iota // does not decode
	recStarted                // a run.started, left for the merge to decode if it must
	recDecoded                // in vals
)

type rec struct {
	kind   recKind
	val    int32 // index into vals when decoded
	lo, hi int
}

func newChunk(slots int) *chunk {
	return &chunk{data: make([]byte, blockSize), slots: slots, seen: make([]bool, slots)}
}

// grow makes room for the values of n decoded lines, keeping those there.
func (c *chunk) grow(n int) {
	if len(c.vals) >= n {
		return
	}
	k, old := c.slots, c.vals
	n += n/4 + 64
	metric, has := make([]float64, n*k), make([]bool, n*k)
	param, hasP := make([][]byte, n*k), make([]bool, n*k)
	copy(metric, c.metric)
	copy(has, c.has)
	copy(param, c.param)
	copy(hasP, c.hasP)
	c.metric, c.has, c.param, c.hasP = metric, has, param, hasP
	c.vals = make([]lineVals, n)
	copy(c.vals, old)
	for j := range c.vals {
		v := &c.vals[j]
		v.metric, v.hasMetric = c.metric[j*k:(j+1)*k], c.has[j*k:(j+1)*k]
		v.param, v.hasParam = c.param[j*k:(j+1)*k], c.hasP[j*k:(j+1)*k]
		v.seen = c.seen
	}
}

// fill reads block k of a file of the given size and decodes its lines.
func (c *chunk) fill(f *os.File, size int64, k int, pl *plan) {
	end := size - int64(k)*blockSize
	c.k, c.start = k, max(0, end-blockSize)
	c.data = c.data[:end-c.start]
	c.recs, c.head, c.tail, c.whole, c.err = c.recs[:0], nil, nil, false, nil
	clear(c.seen)
	if _, err := f.ReadAt(c.data, c.start); err != nil && err != io.EOF {
		c.err = fmt.Errorf("read %s: %w", f.Name(), err)
		return
	}
	data := c.data
	lo, hi := 0, len(data)
	if c.start > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			c.whole = true
			return
		}
		c.head, lo = data[:i], i+1
	}
	// Line starts, found forwards (IndexByte is vectorised, LastIndexByte
	// is not), then decoded last first.
	c.starts = append(c.starts[:0], lo)
	for i := lo; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		c.starts = append(c.starts, i)
	}
	n := len(c.starts)
	c.nvals = 0
	if k > 0 { // the last piece runs on into the next block
		c.tail, hi = data[c.starts[n-1]:], c.starts[n-1]-1
		n--
	}
	for i := n - 1; i >= 0; i-- {
		end := hi
		if i+1 < n {
			end = c.starts[i+1] - 1
		}
		c.line(c.starts[i], end, pl)
	}
}

// line decodes data[lo:hi] unless it is a run.started.
func (c *chunk) line(lo, hi int, pl *plan) {
	for lo < hi && isSpace(c.data[lo]) {
		lo++
	}
	for hi > lo && isSpace(c.data[hi-1]) {
		hi--
	}
	if lo == hi {
		return
	}
	b := c.data[lo:hi]
	r := rec{lo: lo, hi: hi}
	id, typ, ok := peekRun(b)
	if ok && len(id) == 0 && bytes.HasPrefix(typ, []byte("sweep.")) {
		return // a sweep's own event: no run to list
	}
	if ok && string(typ) == record.EventRunStarted && b[len(b)-1] == '}' {
		r.kind = recStarted
	} else {
		c.grow(c.nvals + 1)
		v := &c.vals[c.nvals]
		v.reset()
		if pl.parse(b, v) && len(v.id) > 0 {
			r.kind, r.val = recDecoded, int32(c.nvals)
			c.nvals++
		}
	}
	c.recs = append(c.recs, r)
}

// readChunks reads f backwards in blocks with workers decoding them in
// parallel, and hands the blocks to fn in order, last block first, until fn
// returns false. At most a few blocks are in memory at once.
func readChunks(f *os.File, pl *plan, workers int, fn func(*chunk) bool) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	blocks := int((size + blockSize - 1) / blockSize)
	if blocks == 0 {
		return nil
	}
	workers = max(1, min(workers, blocks))
	inFlight := workers + 2
	free := make(chan *chunk, inFlight)
	for range inFlight {
		free <- newChunk(len(pl.slots))
	}
	type job struct {
		k    int
		done chan *chunk
	}
	jobs := make(chan job, inFlight)
	order := make(chan chan *chunk, inFlight)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() { // dispatch blocks in order
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for k := range blocks {
			done := make(chan *chunk, 1)
			select {
			case order <- done:
			case <-stop:
				return
			}
			select {
			case jobs <- job{k, done}:
			case <-stop:
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer wg.Done()
			for {
				// A chunk first, then a job: the oldest job taken always
				// has a chunk to fill, so the merge never waits forever.
				var c *chunk
				select {
				case c = <-free:
				case <-stop:
					return
				}
				var j job
				select {
				case jj, ok := <-jobs:
					if !ok {
						return
					}
					j = jj
				case <-stop:
					return
				}
				c.fill(f, size, j.k, pl)
				j.done <- c
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for done := range order {
		c := <-done
		if c.err != nil {
			return c.err
		}
		more := fn(c)
		free <- c
		if !more {
			return nil
		}
	}
	return nil
}
