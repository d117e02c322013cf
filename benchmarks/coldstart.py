"""Cold start: `netlang run examples/xor.net --x 1 0` against `python -c "import numpy"`, wall time.

Both are run as fresh processes, in turn, and the medians compared. netlang is run through
its console script when it is installed next to this Python (else `python -m
netlang.launcher`), with the compiled-network cache warm (the usual case: the file was run
before) and, for comparison, with the cache off (NETLANG_NO_CACHE=1: parse and compile).
Python's own bytecode cache is on for both, as it is for users: PYTHONDONTWRITEBYTECODE is
removed from the children's environment and netlang's modules are byte-compiled first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from _common import arguments, interleaved, machine_note, report

ROOT = Path(__file__).resolve().parent.parent
XOR = str(ROOT / "examples" / "xor.net")


def command() -> List[str]:
    script = Path(sys.executable).parent / "netlang"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "netlang.launcher"]


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    machine_note()
    netlang = command()
    with tempfile.TemporaryDirectory() as cache:
        env: Dict[str, str] = dict(os.environ, NETLANG_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        env.pop("NETLANG_NO_CACHE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        import netlang as package

        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(package.__file__).parent)], check=True)
        cold_env = dict(env, NETLANG_NO_CACHE="1")

        def run(argv: List[str], environment: Dict[str, str]) -> None:
            result = subprocess.run(argv, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if result.returncode != 0:
                raise SystemExit(f"{argv} failed: {result.stderr.decode()}")

        xor = [*netlang, "run", XOR, "--x", "1", "0"]
        run(xor, env)  # warms the cache
        repeats = 5 if args.quick else 21
        base, warm, off = interleaved(
            [
                lambda: run([sys.executable, "-c", "import numpy"], env),
                lambda: run(xor, env),
                lambda: run(xor, cold_env),
            ],
            repeats,
        )
    print(f"\nnetlang command: {' '.join(netlang)}")
    report(
        "wall time of a fresh process",
        [
            ('python -c "import numpy"', base),
            ("netlang run xor.net --x 1 0 (cache warm)", warm),
            ("netlang run xor.net --x 1 0 (NETLANG_NO_CACHE=1)", off),
        ],
        base,
        "netlang (cache warm) at most 1.3x import numpy",
    )


if __name__ == "__main__":
    main()
