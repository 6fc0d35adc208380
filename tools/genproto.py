"""Regenerate gateway/pb from protos/ (or, with --check, fail when the committed copy is stale).

The .proto files sit under protos/gateway/pb/ so that the generated modules import each other as
``gateway.pb.x_pb2`` (the layout mirrors the Python package; see grpc/grpc#29390).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = Path("gateway/pb")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out: Path) -> None:
    include = Path(protoc.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / PACKAGE).glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    check = parser.parse_args().check
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / PACKAGE
        target = ROOT / PACKAGE
        if check:
            names = generated_files(fresh)
            stale = [n for n in names if not filecmp.cmp(fresh / n, target / n, shallow=False)]
            extra = sorted(set(generated_files(target)) - set(names))
            if stale or extra:
                print(f"gateway/pb is stale; run `make proto` ({stale + extra})", file=sys.stderr)
                return 1
            print("gateway/pb is current")
            return 0
        for name in generated_files(target):
            (target / name).unlink()
        for name in generated_files(fresh):
            shutil.copyfile(fresh / name, target / name)
    print(f"regenerated {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
