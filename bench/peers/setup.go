package peers

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed all:toy scripts
var files embed.FS

// peer is one tool installed into its own venv.
type peer struct {
	name string   // venv: .cache/bench-<name>
	pkgs []string // what uv installs
	dist string   // the distribution whose version is reported
}

// The versions are pinned so that a rerun measures the same tools; guildai
// 0.9.0 still imports pkg_resources, which setuptools 81 removed.
var peersToInstall = []peer{
	{"dvc", []string{"dvc==3.67.1"}, "dvc"},
	{"guildai", []string{"guildai==0.9.0", "setuptools<81"}, "guildai"},
	{"mlflow", []string{"mlflow==3.17.2"}, "mlflow"},
}

// venvs creates the peers' venvs under .cache/bench-* unless the marker
// says they hold what peersToInstall asks for, and returns their versions.
// Bytecode is compiled at install time: with PYTHONDONTWRITEBYTECODE set,
// as in this project's shells, every start would compile the tools anew.
func (b *bench) venvs(ctx context.Context) error {
	b.versions = map[string]string{}
	uv, err := b.uvTool(ctx)
	if err != nil {
		return err
	}
	for _, p := range peersToInstall {
		dir := filepath.Join(b.repo, ".cache", "bench-"+p.name)
		spec := strings.Join(p.pkgs, " ")
		marker := filepath.Join(dir, ".bench-installed")
		if got, err := os.ReadFile(marker); err != nil || string(got) != spec {
			fmt.Fprintf(b.log, "installing %s into %s\n", spec, dir)
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			steps := [][]string{
				{"venv", "-q", "--seed", "--python", "python3", dir},
				append([]string{"pip", "install", "-q", "--compile-bytecode", "--python", filepath.Join(dir, "bin", "python")}, p.pkgs...),
			}
			for _, args := range steps {
				if err := (command{dir: b.repo, env: b.base, name: uv, args: args}).run(ctx); err != nil {
					return fmt.Errorf("install %s: %w", p.name, err)
				}
			}
			if err := os.WriteFile(marker, []byte(spec), 0o644); err != nil {
				return err
			}
		}
		b.venv[p.name] = dir
		v, err := command{dir: b.repo, env: b.base, name: filepath.Join(dir, "bin", "python"),
			args: []string{"-c", "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))", p.dist}}.output(ctx)
		if err != nil {
			return err
		}
		b.versions[p.name] = strings.TrimSpace(string(v))
	}
	return nil
}

// uvTool is the uv that makes the peers' venvs: the one on the PATH, else
// the one in .cache/tools, which is installed there from PyPI when missing,
// as .ci/run does (python3 -m venv, then pip install uv): a machine without
// uv runs the benchmark all the same.
func (b *bench) uvTool(ctx context.Context) (string, error) {
	if uv := lookPath("uv", b.base); uv != "uv" {
		return uv, nil
	}
	venv := filepath.Join(b.repo, ".cache", "tools", "venv")
	uv := filepath.Join(venv, "bin", "uv")
	if _, err := os.Stat(uv); err == nil {
		return uv, nil
	}
	fmt.Fprintf(b.log, "uv is not on PATH: installing it into %s, as .ci/run does\n", venv)
	steps := []command{
		{name: "python3", args: []string{"-m", "venv", venv}},
		{name: filepath.Join(venv, "bin", "python"), args: []string{"-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"}},
	}
	for _, c := range steps {
		c.dir, c.env = b.repo, b.base
		if err := c.run(ctx); err != nil {
			return "", fmt.Errorf("install uv (not on PATH) into %s: %w", venv, err)
		}
	}
	return uv, nil
}

// writeToy writes the toy project into dir: the same files for every tool.
func writeToy(dir string) error {
	return fs.WalkDir(files, "toy", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(path, "toy/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// writeScript writes one of scripts/ into the work directory.
func (b *bench) writeScript(name string) (string, error) {
	data, err := files.ReadFile("scripts/" + name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(b.work, name)
	return path, os.WriteFile(path, data, 0o644)
}

// gitInit makes dir a repository with everything committed: every tool
// here stamps the commit of a run.
func (b *bench) gitInit(ctx context.Context, dir string) error {
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "toy project"}} {
		if err := b.git(ctx, dir, args...); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) git(ctx context.Context, dir string, args ...string) error {
	return command{dir: dir, env: b.base, name: "git", args: args}.run(ctx)
}

// projects writes the four toy projects and makes each ready to run: the
// magelab one with the repository's module and magefiles linked in (so that
// `go tool mage` works there) and its venv built, the DVC one initialised
// and reproduced once (so that dvc.lock exists), a Guild home.
func (b *bench) projects(ctx context.Context) error {
	for _, tool := range []string{"magelab", "dvc", "guild", "mlflow"} {
		dir := filepath.Join(b.work, tool)
		b.proj[tool] = dir
		if err := writeToy(dir); err != nil {
			return err
		}
	}
	for _, rel := range []string{"go.mod", "go.sum", "magefiles", "internal", "bench"} {
		if err := os.Symlink(filepath.Join(b.repo, rel), filepath.Join(b.proj["magelab"], rel)); err != nil {
			return err
		}
	}
	for _, tool := range []string{"magelab", "guild", "mlflow"} {
		if err := b.gitInit(ctx, b.proj[tool]); err != nil {
			return err
		}
	}
	if err := (command{dir: b.proj["magelab"], env: b.env("magelab"), name: b.bin, args: []string{"setup", "-exp=toy"}}).run(ctx); err != nil {
		return err
	}
	if err := b.dvcProject(ctx, b.proj["dvc"], false); err != nil {
		return err
	}
	return os.MkdirAll(b.guildHome, 0o755)
}

// dvcProject initialises a DVC project in dir (already holding the toy
// files unless write) and commits it with its dvc.lock.
func (b *bench) dvcProject(ctx context.Context, dir string, write bool) error {
	if write {
		if err := writeToy(dir); err != nil {
			return err
		}
	}
	env := b.env("dvc")
	steps := []command{
		{name: "git", args: []string{"init", "-q"}},
		{name: "dvc", args: []string{"init", "-q"}},
		{name: "dvc", args: []string{"config", "core.analytics", "false"}},
		{name: "dvc", args: []string{"repro", "-q"}},
		{name: "git", args: []string{"add", "-A"}},
		{name: "git", args: []string{"commit", "-qm", "toy project"}},
	}
	for _, c := range steps {
		c.dir, c.env = dir, env
		if err := c.run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// env is the environment a tool's commands run in. The stage scripts run on
// the same interpreter for every tool — the toy venv's python, first on
// PATH — except under MLflow, whose train.py must import mlflow to log its
// metrics, so they run on the MLflow venv's python.
func (b *bench) env(tool string) []string {
	withPath := func(venvs ...string) []string {
		var bins []string
		for _, v := range venvs {
			bins = append(bins, filepath.Join(v, "bin"))
		}
		// exec uses the last PATH= of an environment.
		return append(clone(b.base), "PATH="+strings.Join(append(bins, os.Getenv("PATH")), ":"))
	}
	switch tool {
	case "magelab":
		return append(clone(b.base), "MAGELAB_VENV="+b.toyVenv)
	case "dvc":
		return append(withPath(b.toyVenv, b.venv["dvc"]), "DVC_NO_ANALYTICS=1")
	case "guild":
		return append(withPath(b.toyVenv, b.venv["guildai"]), "GUILD_HOME="+b.guildHome)
	case "mlflow":
		return withPath(b.venv["mlflow"])
	}
	return clone(b.base)
}

// baseEnv is this process's environment without what would change what the
// tools do: magelab's own settings, an active venv, GPUs (none wanted: a
// CPU benchmark), and with a fixed git identity for the commits tools make.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MAGELAB_") || strings.HasPrefix(k, "GIT_") || k == "VIRTUAL_ENV" || k == "CUDA_VISIBLE_DEVICES" || k == "PATH" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+os.Getenv("PATH"), "CUDA_VISIBLE_DEVICES=",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
}

func clone(s []string) []string { return append([]string(nil), s...) }
