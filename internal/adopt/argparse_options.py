"""Print the argparse options of a Python script as JSON, without running it.

    python3 argparse_options.py SCRIPT

magelab's `init -script=SCRIPT` runs this with any Python 3.9+ (standard
library only). It reads the script with ast and looks at every call of
.add_argument(...): the option strings, and the keywords type, default,
action, nargs, choices, required, help and dest, as literals. Nothing of
the script is imported or executed, so this works before the venv exists,
needs none of the script's packages, and starts no training. What is not a
literal (a default computed at run time, an option name built in a loop)
is reported as such.
"""

import ast
import json
import sys


def literal(node):
    """(True, value) for a literal node, else (False, its source text)."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, ast.unparse(node)


def name_of(node):
    """The dotted name of a Name or Attribute node (argparse.BooleanOptionalAction)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return name_of(node.value) + "." + node.attr
    return ast.unparse(node)


def jsonable(v):
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def option(call):
    flags = []
    for a in call.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            flags.append(a.value)
        else:
            return None, "option name %s is not a literal" % ast.unparse(a)
    if not flags:
        return None, "add_argument without an option name"
    opt = {"flags": flags, "line": call.lineno}
    for kw in call.keywords:
        if kw.arg is None:
            return None, "add_argument(**%s) is not literal" % ast.unparse(kw.value)
        if kw.arg in ("type", "action"):
            opt[kw.arg] = name_of(kw.value) if not isinstance(kw.value, ast.Constant) else kw.value.value
        elif kw.arg in ("default", "choices", "nargs", "required", "help", "dest", "const"):
            ok, v = literal(kw.value)
            if ok and jsonable(v):
                opt[kw.arg] = v
            else:
                opt[kw.arg + "_source"] = v if not ok else repr(v)
    if isinstance(opt.get("default"), str) and opt.get("type") in ("int", "float"):
        try:  # argparse converts a string default with type=
            opt["default"] = int(opt["default"]) if opt["type"] == "int" else float(opt["default"])
        except ValueError:
            pass
    help_text = opt.get("help")
    if isinstance(help_text, str) and "%(default)" in help_text and "default" in opt:
        opt["help"] = help_text.replace("%(default)s", str(opt["default"])).replace("%(default)r", repr(opt["default"]))
    return opt, None


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    options, skipped = [], []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            opt, why = option(node)
            if opt is None:
                skipped.append({"line": node.lineno, "why": why})
            else:
                options.append(opt)
    options.sort(key=lambda o: o["line"])
    skipped.sort(key=lambda s: s["line"])
    json.dump({"options": options, "skipped": skipped}, sys.stdout)


if __name__ == "__main__":
    main()
