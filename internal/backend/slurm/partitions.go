package slurm

import (
	"context"
	"strconv"
	"strings"
)

// Partition is what sinfo says of one partition.
type Partition struct {
	Name    string
	Default bool // the partition jobs go to when they name none
	Up      bool
	MaxGPUs int // the most GPUs (gres gpu) one node of it has
}

// Partitions lists the cluster's partitions (sinfo), one entry per
// partition however many kinds of node it has.
func (c Cluster) Partitions(ctx context.Context) ([]Partition, error) {
	out, err := c.run(ctx, "sinfo", "--noheader", "--format=%P|%a|%G")
	if err != nil {
		return nil, err
	}
	return parseSinfo(out), nil
}

// parseSinfo reads sinfo's "%P|%a|%G" lines: a line per partition and kind
// of node, the default partition's name ending in "*".
func parseSinfo(text string) []Partition {
	var out []Partition
	index := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 3 || f[0] == "" {
			continue
		}
		p := Partition{Name: strings.TrimSuffix(f[0], "*"), Default: strings.HasSuffix(f[0], "*"), Up: f[1] == "up", MaxGPUs: gresGPUs(f[2])}
		if i, ok := index[p.Name]; ok {
			out[i].MaxGPUs = max(out[i].MaxGPUs, p.MaxGPUs)
			out[i].Up = out[i].Up || p.Up
			continue
		}
		index[p.Name] = len(out)
		out = append(out, p)
	}
	return out
}

// gresGPUs counts the GPUs in a node's gres: "gpu:2", "gpu:a100:4(S:0-1)",
// "gpu:a100:2,gpu:v100:2", "(null)".
func gresGPUs(gres string) int {
	n := 0
	for _, g := range strings.Split(gres, ",") {
		g, _, _ = strings.Cut(g, "(")
		f := strings.Split(g, ":")
		if f[0] != "gpu" || len(f) < 2 {
			continue
		}
		if c, err := strconv.Atoi(f[len(f)-1]); err == nil {
			n += c
		} else {
			n++ // gpu:a100 with no count is one
		}
	}
	return n
}
