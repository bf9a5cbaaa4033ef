"""`mutmut run` with one S3 server shared by every mutant's test session.

Each mutant runs its tests in a fresh pytest session; alone, each would start and stop its own
SeaweedFS (about 3 s of a 2-core machine per mutant). The tests make buckets of their own, so
the sessions that run side by side do not meet on the shared server. A server that died during
the run would make every later mutant look killed: the run then fails, to be run again.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.services import SeaweedS3


def main(arguments: list[str]) -> int:
    with SeaweedS3() as server:
        # A mutant that breaks a job's flow leaves a live-farm test waiting on the job's feed:
        # 30 s is still ten times what the longest such test takes under a mutation run's load.
        env = {**os.environ, **server.shared_variable(), "FRAMEFARM_TEST_FEED_TIMEOUT": "30"}
        status = subprocess.run(["mutmut", "run", *arguments], env=env, check=False).returncode
        if not server.running():
            print("mutation: the shared S3 server died during the run; run again", file=sys.stderr)
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
