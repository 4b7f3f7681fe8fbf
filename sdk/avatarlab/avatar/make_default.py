"""Make the default avatar: the photo avatar of the public-domain astronaut portrait (NASA, in scikit-image as
``skimage.data.astronaut()``), written to models/avatar/default_head.glb (committed: 1.2 MB).

    python -m avatarlab.avatar.make_default [--out models/avatar/default_head.glb]

Needs scikit-image (the test extras) and the face models (`make`). tests/test_avatar.py checks that this
reproduces the committed file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "models" / "avatar" / "default_head.glb"


def default_avatar_from_portrait() -> bytes:
    """The GLB bytes of the astronaut's photo avatar."""
    try:
        from skimage.data import astronaut
    except ImportError as error:
        raise SystemExit("making the default avatar needs scikit-image: pip install -e '.[test]'") from error
    from ..photo_avatar import glb_from_image

    glb, _ = glb_from_image(astronaut(), "the astronaut portrait")
    return glb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avatarlab.avatar.make_default", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="GLB to write (default: %(default)s)")
    args = parser.parse_args(argv)
    from ..output import write_files_atomically

    write_files_atomically({args.out: default_avatar_from_portrait()})
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
