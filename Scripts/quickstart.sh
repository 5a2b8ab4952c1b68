#!/usr/bin/env bash
# Quick start: install what is missing, build dppsync, make this checkout a root,
# drop the bundled sample exports into Inbox/ and run one pass over them.
# Run it twice: the second run reports the re-dropped samples as duplicates.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in libsqlite3-dev libxml2-dev libdeflate-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift build --product dppsync 2>&1 | tail -1
bin="$(swift build --product dppsync --show-bin-path)/dppsync"

"$bin" init --root . >/dev/null
cp -R Samples/. Inbox/
echo "dropped: $(cd Samples && find . -type f | sed 's|^\./||' | tr '\n' ' ')"
"$bin" run --root . --once --stability-window 0 && status=0 || status=$?
echo "exit status $status (0: all applied or duplicate, 1: something needs attention, 3: the run failed)"
exit "$status"
