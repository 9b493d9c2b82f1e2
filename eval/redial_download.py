"""``python -m eval.redial_download [DIR]``: the official ReDial release, for ``recbot eval redial``.

Not needed when the files are already in place (this machine has no internet: the dev half of the
test split is provided under shared data). For a user with internet::

    python -m eval.redial_download [DIR]     # default: settings.redial_dir or <home>/data/redial

then ``recbot eval redial --data DIR --split test``. The download itself is
:func:`cf_engine.data.redial_download.download_redial`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.settings import load_settings
from cf_engine.data.redial_download import RedialDownloadError, download_redial


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else load_settings().redial_home
    try:
        for path in download_redial(target):
            print(f"wrote {path}")
    except RedialDownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
