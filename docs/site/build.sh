#!/usr/bin/env bash
# Build the rendered docs: antsibull-docs writes the RST of every plugin, module and role of the
# installed collection, then Sphinx builds the HTML site (warnings are errors).
#
#   docs/site/build.sh OUTPUT_DIR     the site ends up in OUTPUT_DIR/html (index.html)
#
# The collection is read through ansible-doc, so ANSIBLE_COLLECTIONS_PATH must hold it (`make docs` sets
# it to the collection installed from the built tarball); antsibull-docs and sphinx-build come from PATH.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: docs/site/build.sh OUTPUT_DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# The guide pages are README sections (docs/site/guides.py): refuse to publish pages README no longer says.
"${PYTHON:-python3}" "$HERE/guides.py" --check

rm -rf "$OUT/rst" "$OUT/html" "$OUT/doctrees"
mkdir -p "$OUT/rst"
chmod og-w "$OUT/rst"  # antsibull-docs wants a directory only its owner can write to
antsibull-docs --config-file "$HERE/antsibull-docs.cfg" collection --use-current --cleanup everything \
    --dest-dir "$OUT/rst" containerops.lifecycle
cp "$HERE/index.rst" "$OUT/rst/index.rst"
sphinx-build -q -b html -c "$HERE" -d "$OUT/doctrees" -W --keep-going "$OUT/rst" "$OUT/html"
echo "docs: $OUT/html/index.html"
