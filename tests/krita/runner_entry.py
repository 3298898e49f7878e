"""Entry point for ``kritarunner -s runner_entry -f run_pytest``.

pytest's arguments come in AI_DIFFUSION_PYTEST_ARGS (JSON; kritarunner parses options itself).
kritarunner always exits 0, so the outcome is written to AI_DIFFUSION_RESULT_FILE and the
process ends with ``os._exit(rc)``; a missing file means the run failed.
"""

import json
import os


def run_pytest(args):
    rc = 99
    try:
        import pytest

        rc = int(pytest.main(json.loads(os.environ["AI_DIFFUSION_PYTEST_ARGS"])))
    finally:
        with open(os.environ["AI_DIFFUSION_RESULT_FILE"], "w") as f:
            json.dump({"returncode": rc}, f)
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
