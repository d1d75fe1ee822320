package runner

import (
	"fmt"
	"io"
	"os"
)

// createLog creates a stage's log file; tests put a full disk in its place.
var createLog = func(path string) (io.WriteCloser, error) { return os.Create(path) }

// stageLog is a stage's log file. What the stage prints goes to it and to
// the terminal; once a write to the file fails (a full disk), the rest goes
// to the terminal only, and the stage's record says where and why the log
// was cut (StageRecord.LogIncomplete), as does a last line in the log when
// it can still be written.
type stageLog struct {
	f   io.WriteCloser
	n   int64 // bytes written to the file
	err error // the write that failed
}

// Write never fails: the stage must not block or stop because its log
// cannot be written.
func (l *stageLog) Write(b []byte) (int, error) {
	if l.err == nil {
		n, err := l.f.Write(b)
		l.n += int64(n)
		l.err = err
	}
	return len(b), nil
}

// cut says where and why the log was cut short, or "".
func (l *stageLog) cut() string {
	if l.err == nil {
		return ""
	}
	msg := fmt.Sprintf("cut short after %d bytes: %v", l.n, l.err)
	io.WriteString(l.f, "\n[magelab: the log was "+msg+"; the rest went to the terminal only]\n")
	return msg
}

func (l *stageLog) sync() {
	if s, ok := l.f.(interface{ Sync() error }); ok {
		s.Sync()
	}
}

func (l *stageLog) Close() error { return l.f.Close() }
