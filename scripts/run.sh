#!/usr/bin/env bash
# Installs what is missing, builds, and starts the agent on 127.0.0.1:4646
# with its default data dir. Extra arguments go to `drover agent`
# (e.g. --dev for a throw-away data dir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cat <<MSG

==> starting the agent on http://127.0.0.1:4646 (Ctrl-C stops it; tasks keep running)
    In another terminal, run the demo job and look at it:
      build/drover job run examples/demo.hcl
      build/drover job status demo
    or with curl:
      curl -X PUT -d @examples/demo.json http://127.0.0.1:4646/v1/jobs
      curl -s http://127.0.0.1:4646/v1/allocations | python3 -m json.tool
    The web page, with each allocation's timeline: http://127.0.0.1:4646/ui/

MSG
exec build/drover agent "$@"
