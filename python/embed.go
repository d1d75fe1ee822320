// Package python holds magelab's own stage scripts. It embeds the ones
// magelab runs itself, so that they run in a repository that is not a
// clone of magelab: gpu:check's check scripts and the lab.py they import.
package python

import "embed"

// GPUChecks holds lab.py and gpu/ (the package and its check scripts), at
// the paths they have under python/.
//
//go:embed lab.py gpu/__init__.py gpu/check_torch.py gpu/check_tf.py
var GPUChecks embed.FS
