"""Print the requirement lines whose distribution is not installed at any version.

Used when the venv is built on an existing interpreter (MAGELAB_PYTHON or
venv.system_site_packages): what that interpreter already has is used as it
is, and only what it lacks is installed. Standard library only.
"""
import re
import sys
from importlib import metadata

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def lines(path):
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith(("-r ", "--requirement ")):
                yield from lines(line.split(None, 1)[1])
            elif not line.startswith("-"):
                yield line


def main():
    for path in sys.argv[1:]:
        for line in lines(path):
            m = NAME.match(line)
            if not m:
                print(line)
                continue
            try:
                version = metadata.version(m.group(1))
            except metadata.PackageNotFoundError:
                print(line)
                continue
            print(f"have {m.group(1)} {version}", file=sys.stderr)


if __name__ == "__main__":
    main()
