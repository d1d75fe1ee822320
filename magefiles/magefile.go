//go:build mage

// magelab runs the pipeline of an ML experiment (setup-data → preprocess →
// train → eval), skipping the stages that are up to date, and records every
// run in runs/. Flags: -exp=NAME|PATH (default: default), -set="train.lr=0.01 seed=1".
package main

import (
	//mage:import
	_ "github.com/magelab/magelab/targets"
)
