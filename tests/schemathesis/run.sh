#!/usr/bin/env bash
# schemathesis against a running Persona: it reads the server's own /openapi.json, generates
# requests for every operation (valid and invalid ones), and fails on any 5xx answer and on any
# answer that breaks the documented schema. Bounded: a fixed number of examples per operation,
# a fixed seed, one worker, a timeout per request. Reports: JUnit, and a HAR log of every call
# (the end-to-end test counts the successful ones per operation).
#
#   tests/schemathesis/run.sh BASE_URL TOKEN [EXAMPLES [USER_ID]]
#   e.g. tests/schemathesis/run.sh http://127.0.0.1:8080 "$(cat data/admin.pat)" 200   # a long run
#
# USER_ID, a human user's id, lets the operations on `/users/{user_id}/...` reach past "not
# found" into their real checks.
#
# The end-to-end test `schemathesis::...` starts a server and runs this with a small EXAMPLES;
# .ci/run installs schemathesis (pip install schemathesis).
set -euo pipefail
base=${1:?base URL, e.g. http://127.0.0.1:8080}
token=${2:?an admin token}
examples=${3:-20}
user_id=${4:-}
report=${SCHEMATHESIS_REPORT_DIR:-$(mktemp -d)}
config="$report/schemathesis.toml"
if [ -n "$user_id" ]; then
  printf '[parameters]\n"path.user_id" = "%s"\n' "$user_id" >"$config"
else
  : >"$config"
fi

# schemathesis keeps a `.schemathesis/` folder in the working directory: keep it with the report.
cd "$report"
exec schemathesis --config-file "$config" run "$base/openapi.json" \
  --header "authorization: Bearer $token" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$examples" \
  --seed 20261128 \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  --report junit,har --report-dir "$report"
