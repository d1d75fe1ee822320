package adopt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// gitignoreMark opens magelab's block in a .gitignore: init looks for it
// to tell whether the block is there.
const gitignoreMark = "# magelab (go tool mage init):"

// gitignoreBlock is what magelab writes that a repository does not commit:
// the run ledger, the stage cache, venvs, a compiled binary, Mage's
// temporary file, and local settings (.env*, which may hold secrets).
const gitignoreBlock = gitignoreMark + ` run records, stage cache, venvs, builds, local settings
/runs/
/.magelab/
/.venv/
/.venv-*/
/bin/magelab
magefiles/mage_output_file.go
.env*
`

// addGitignore appends magelab's block to root/.gitignore (creating it),
// unless the block is there. It reports whether it wrote.
func addGitignore(root string) (bool, error) {
	path := filepath.Join(root, ".gitignore")
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if strings.Contains(string(b), gitignoreMark) {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sep := ""
	if len(b) > 0 {
		sep = "\n"
		if !strings.HasSuffix(string(b), "\n") {
			sep = "\n\n"
		}
	}
	if _, err := f.WriteString(sep + gitignoreBlock); err != nil {
		return false, err
	}
	return true, f.Close()
}
