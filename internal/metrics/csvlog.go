package metrics

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// CSVName is the file name of the CSV metric logs read: PyTorch
// Lightning's CSVLogger writes lightning_logs/version_N/metrics.csv.
const CSVName = "metrics.csv"

// CSVLog is the series of a CSV metric log, by column in header order.
type CSVLog struct {
	Names  []string
	Series map[string][]Point
}

// ReadCSV reads a CSV metric log: a header row with a step column, then
// one row per logging call, empty cells where a metric was not logged (as
// Lightning writes it). Every other column is a series; cells that are
// not numbers are skipped. A file without a step column is an error that
// says so.
func ReadCSV(path string) (*CSVLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header row: %w", path, err)
	}
	header = slices.Clone(header)
	step := slices.Index(header, StepGroup)
	if step < 0 {
		return nil, fmt.Errorf("%s: no %q column in its header (%s): not read as a metric log", path, StepGroup, strings.Join(header, ","))
	}
	log := &CSVLog{Series: map[string][]Point{}}
	for i, h := range header {
		if i != step && h != "" {
			log.Names = append(log.Names, h)
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				break // a torn last line: keep the rows before it
			}
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if step >= len(rec) {
			continue
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(rec[step]), 64)
		if err != nil {
			continue
		}
		for i, h := range header {
			if i == step || h == "" || i >= len(rec) {
				continue
			}
			if v := setNumber(nil, h, strings.TrimSpace(rec[i])); v != nil {
				log.Series[h] = append(log.Series[h], Point{Step: int64(s), Value: v[h]})
			}
		}
	}
	return log, nil
}
