//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/magelab/magelab/bench/peers"
)

// Bench measures magelab against DVC, Guild AI and MLflow side by side and writes bench/results/peers.md and peers.json (~30 min): -quick (a few minutes), -rounds=N, -only="run uptodate query sweep", -keep.
func Bench(ctx context.Context, rounds *int, quick *bool, only *string, keep *bool) error {
	o := peers.DefaultOptions(quick != nil && *quick)
	if rounds != nil {
		o.Rounds = *rounds
	}
	if only != nil && *only != "" {
		o.Figures = strings.Fields(strings.ReplaceAll(*only, ",", " "))
	}
	o.Keep = keep != nil && *keep
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	rep, err := peers.Run(ctx, root, o, "go tool mage "+strings.Join(os.Args[1:], " "), os.Stdout)
	if rep != nil {
		fmt.Print("\n" + peers.Markdown(rep))
	}
	if err != nil {
		return err
	}
	fmt.Println("\nwritten: bench/results/peers.md, bench/results/peers.json")
	return nil
}
