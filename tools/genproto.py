"""Regenerate gateway/pb from protos/ (or, with --check, fail when the committed copy is stale).

The API lives in protos/aeo/gateway/v1/ (proto package ``aeo.gateway.v1``: the directory matches
the package, as buf's lint requires). protoc (grpc_tools) generates ``*_pb2.py``,
``*_pb2_grpc.py`` and their mypy-protobuf ``.pyi`` stubs into a temporary directory, where they
would import each other as ``aeo.gateway.v1.x_pb2``; they are placed in gateway/pb/ with only
those module references rewritten to ``gateway.pb.x_pb2``:

- ``from aeo.gateway.v1 import x_pb2`` becomes ``from gateway.pb import x_pb2``;
- ``import aeo.gateway.v1.x_pb2`` and ``aeo.gateway.v1.x_pb2.Name`` become ``gateway.pb.x_pb2``;
- the module name passed to ``_builder`` becomes ``'gateway.pb.x_pb2'``.

The serialized descriptors are never altered: they keep the file names ``aeo/gateway/v1/x.proto``
and the type names ``.aeo.gateway.v1.Foo`` that are the API. Imports of google/type/*.proto come
from the googleapis-common-protos package, google/protobuf/*.proto from grpc_tools.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import google.type.date_pb2
from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
API = Path("aeo/gateway/v1")
PACKAGE = Path("gateway/pb")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")

_SOURCE_MODULE = re.escape(".".join(API.parts))  # aeo\.gateway\.v1
_TARGET_MODULE = ".".join(PACKAGE.parts)  # gateway.pb
_REWRITES = (
    (re.compile(rf"^(\s*)from {_SOURCE_MODULE} import (\w+_pb2)\b", re.M), r"\1from {} import \2"),
    (re.compile(rf"^(\s*)import {_SOURCE_MODULE}\.(\w+_pb2)\b", re.M), r"\1import {}.\2"),
    (re.compile(rf"(?<![\w.]){_SOURCE_MODULE}\.(\w+_pb2)\."), r"{}.\1."),
    (
        re.compile(rf"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, )'{_SOURCE_MODULE}\.(\w+_pb2)'"),
        r"\1'{}.\2'",
    ),
)
_LEFTOVER = re.compile(rf"(?<![\w./]){_SOURCE_MODULE}\.\w+_pb2\b")


def include_dirs() -> list[Path]:
    """protoc's -I folders: our protos, protobuf's well-known types, googleapis' common types."""
    well_known = Path(protoc.__file__).parent / "_proto"
    googleapis = Path(google.type.date_pb2.__file__).resolve().parents[2]
    return [PROTOS, well_known, googleapis]


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / API).glob("*.proto"))
    if not sources:
        raise SystemExit(f"no .proto files in {PROTOS / API}")
    args = [
        "protoc",
        *(f"-I{folder}" for folder in include_dirs()),
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def rewrite(name: str, text: str) -> str:
    """Points module references at gateway.pb; descriptor bytes and everything else stay as is."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "AddSerializedFile(" in line:  # the serialized descriptor: never touched
            continue
        for pattern, replacement in _REWRITES:
            line = pattern.sub(replacement.format(_TARGET_MODULE), line)
        if _LEFTOVER.search(line):
            raise SystemExit(f"{name}: unhandled module reference: {line.strip()}")
        lines[i] = line
    return "\n".join(lines)


def generated_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def fresh_files() -> dict[str, str]:
    """The generated files as they belong in gateway/pb: name -> text."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        folder = Path(tmp) / API
        return {
            name: rewrite(name, (folder / name).read_bytes().decode("utf-8"))
            for name in generated_names(folder)
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    check = parser.parse_args().check
    fresh = fresh_files()
    target = ROOT / PACKAGE
    if check:
        stale = [
            name
            for name, text in fresh.items()
            if not (target / name).is_file() or (target / name).read_bytes() != text.encode()
        ]
        extra = sorted(set(generated_names(target)) - set(fresh))
        if stale or extra:
            print(f"{PACKAGE} is stale; run `make proto` ({stale + extra})", file=sys.stderr)
            return 1
        print(f"{PACKAGE} is current")
        return 0
    for name in generated_names(target):
        (target / name).unlink()
    for name, text in fresh.items():
        (target / name).write_bytes(text.encode())
    print(f"regenerated {PACKAGE} from {Path('protos') / API}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
